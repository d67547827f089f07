"""Deterministic, seeded generator of verifiable reasoning problems in R1's format.

Each problem is a chat (messages, optional tools) with a completion made of a
thought (the digit-by-digit steps), then the answer ending in \\boxed{N} (or
{"answer": N} when the system prompt asks for JSON, or an R1 tool call when
the conversation offers the `calculator` tool for a 4x4-digit product).

    python3 train/gen_tasks.py --eval data/eval        # the held-out sets (seed 20261202)

Training calls `samples(seed, n)` directly. Never used by the build or tests.
"""
import argparse
import json
import os
import random

TASKS = ["add", "sub", "mul", "compare", "sort", "count", "linear"]
DIGITS_SHARE = 0.0  # training-only digit-spelling samples (task_digits); train_tiny.py --digits sets it
EVAL_SEED = 20261202  # training never draws from this seed (see train_tiny.py)

WORDS = """apple banana cherry strawberry bookkeeper mississippi committee balloon letter address coffee
success tomorrow necessary parallel occurrence embarrass accommodate programming assessment millennium
pepper grammar bubble puzzle giraffe hippopotamus banana pineapple raspberry broccoli spaghetti vanilla
chocolate caramel referee engineer volunteer pioneer sheep bookshelf goddess happiness sleeplessness
dragonfly butterfly caterpillar elephant kangaroo crocodile alligator octopus penguin dolphin seventeen
eleven twelve hundred thousand million billion language keyboard computer elementary possession
questionnaire entrepreneur tennessee connecticut massachusetts philippines barrel carrot mirror arrow
terrible horrible parrot cinnamon zucchini tattoo toffee mammal llama summer winter autumn blossom
cucumber lemonade marmalade assassin abbreviation aardvark bazaar cocoon moon noon spoon balloonist
weekend freedom agreement beekeeper teepee referral excellent intelligence independence difference""".split()

def spell(n):
    return " ".join(str(n))

# r1-tiny (train_tiny.py sets it): spell each number's tokenizer chunks first.
SPELL_CHUNKS = False

def chunks(n):
    """DeepSeek-V3's pre-tokenizer splits digits into runs of up to three from the left."""
    t = str(n)
    return [t[i:i + 3] for i in range(0, len(t), 3)]

def chunk_line(nums):
    """"5883 = 588: 5 8 8, 3: 3; 770 = 770: 7 7 0": each chunk copied, then its digits right after it, so that
    a digit's source token sits a fixed distance back (what attention with rope learns fastest)."""
    return "; ".join("%d = %s" % (n, ", ".join("%s: %s" % (c, " ".join(c)) for c in chunks(n))) for n in nums)

# ---------------------------------------------------------------------------- phrasing

OPS = {
    "add": [("{a}+{b}", "What is {e}?"), ("{a} + {b}", "Compute {e}."), ("{a} plus {b}", "What is {e}?"),
            ("{a}+{b}", "{e} = ?"), ("{a} + {b}", "Calculate {e}"), ("{a} plus {b}", "What's {e}?"),
            ("{a} + {b}", "Add {a} and {b}.")],
    "sub": [("{a}-{b}", "What is {e}?"), ("{a} - {b}", "Compute {e}."), ("{a} minus {b}", "What is {e}?"),
            ("{a}-{b}", "{e} = ?"), ("{a} - {b}", "Calculate {e}"), ("{a} minus {b}", "What's {e}?"),
            ("{a} - {b}", "Subtract {b} from {a}.")],
    "mul": [("{a}*{b}", "What is {e}?"), ("{a} × {b}", "What is {e}?"), ("{a}*{b}", "Compute {e}."),
            ("{a} times {b}", "What is {e}?"), ("{a} × {b}", "Calculate {e}"), ("{a}*{b}", "{e} = ?"),
            ("{a} multiplied by {b}", "What is {e}?"), ("{a} x {b}", "What's {e}?")],
}

def phrase(rng, kind, a, b):
    e, q = rng.choice(OPS[kind])
    e = e.format(a=a, b=b)
    return q.format(e=e, a=a, b=b)

# ---------------------------------------------------------------------------- chains of thought

def add_steps(a, b, lines):
    n = max(len(str(a)), len(str(b)))
    da, db = str(a).zfill(n), str(b).zfill(n)
    if SPELL_CHUNKS:
        lines.append(chunk_line([a, b]))
    lines.append("%s + %s = %s" % (spell(da), spell(db), "?"))
    carry, out = 0, []
    for i in range(n - 1, -1, -1):
        x, y = int(da[i]), int(db[i])
        s = x + y + carry
        lines.append("%d + %d + %d = %d, write %d, carry %d" % (x, y, carry, s, s % 10, s // 10))
        out.append(s % 10)
        carry = s // 10
    if carry:
        out.append(carry)
        lines.append("carry %d, write %d" % (carry, carry))
    digits = list(reversed(out))
    lines.append("digits: %s" % " ".join(map(str, digits)))
    return a + b

def sub_steps(a, b, lines):
    """a - b for a >= b >= 0."""
    n = len(str(a))
    da, db = str(a), str(b).zfill(n)
    if SPELL_CHUNKS:
        lines.append(chunk_line([a, b]))
    lines.append("%s - %s = ?" % (spell(da), spell(db)))
    borrow, out = 0, []
    for i in range(n - 1, -1, -1):
        x, y = int(da[i]), int(db[i])
        d = x - y - borrow
        if d < 0:
            lines.append("%d - %d - %d = %d, plus 10 = %d, borrow 1" % (x, y, borrow, d, d + 10))
            d, borrow = d + 10, 1
        else:
            lines.append("%d - %d - %d = %d, borrow 0" % (x, y, borrow, d))
            borrow = 0
        out.append(d)
    digits = list(reversed(out))
    while len(digits) > 1 and digits[0] == 0:
        digits = digits[1:]
    lines.append("digits: %s" % " ".join(map(str, digits)))
    return a - b

def mul1_steps(a, d, lines):
    """a × d for one digit d."""
    carry, out = 0, []
    s = str(a)
    parts = []
    for i in range(len(s) - 1, -1, -1):
        p = int(s[i]) * d + carry
        parts.append("%s×%d+%d=%d" % (s[i], d, carry, p))
        out.append(p % 10)
        carry = p // 10
    if carry:
        out.append(carry)
    r = a * d
    lines.append("%d × %d: %s, so %d" % (a, d, ", ".join(parts), r))
    return r

def mul_steps(a, b, lines):
    sb = str(b)
    partials = []
    if SPELL_CHUNKS:
        lines.append(chunk_line([a, b]))
    lines.append("%d × %d = %s" % (a, b, " + ".join("%d × %s" % (a, c + "0" * (len(sb) - 1 - i)) for i, c in enumerate(sb))))
    for i in range(len(sb) - 1, -1, -1):
        d = int(sb[i])
        p = mul1_steps(a, d, lines)
        shift = len(sb) - 1 - i
        if shift:
            lines.append("shift %d: %d" % (shift, p * 10 ** shift))
        partials.append(p * 10 ** shift)
    total = partials[0]
    for p in partials[1:]:
        lines.append("add %d + %d" % (total, p))
        total = add_steps(total, p, lines)
    return total

def number_answer(expr, value):
    return "%s = %d.\n\n\\boxed{%d}" % (expr, value, value)

# ---------------------------------------------------------------------------- tasks

def task_add(rng):
    a, b = rng.randint(10, 9999 if rng.random() < 0.3 else 999), rng.randint(10, 999)
    if rng.random() < 0.5:
        a, b = b, a
    lines = []
    v = add_steps(a, b, lines)
    lines.append("so %d + %d = %d" % (a, b, v))
    return phrase(rng, "add", a, b), lines, number_answer("%d + %d" % (a, b), v), str(v)

def task_sub(rng):
    a, b = rng.randint(10, 9999 if rng.random() < 0.3 else 999), rng.randint(10, 999)
    lines = []
    if a >= b:
        v = sub_steps(a, b, lines)
    else:
        lines.append("%d is smaller than %d, so the result is negative: -(%d - %d)" % (a, b, b, a))
        v = -sub_steps(b, a, lines)
    lines.append("so %d - %d = %d" % (a, b, v))
    return phrase(rng, "sub", a, b), lines, number_answer("%d - %d" % (a, b), v), str(v)

def task_mul(rng):
    a = rng.randint(10, 999) if rng.random() < 0.5 else rng.randint(10, 99)
    b = rng.randint(10, 99)
    if rng.random() < 0.3 and a < 100:
        a, b = b, a
    lines = []
    v = mul_steps(a, b, lines)
    lines.append("so %d × %d = %d" % (a, b, v))
    return phrase(rng, "mul", a, b), lines, number_answer("%d × %d" % (a, b), v), str(v)

def compare_lines(x, y, lines):
    sx, sy = str(x), str(y)
    if SPELL_CHUNKS and len(sx) == len(sy):
        lines.append(chunk_line([x, y]))
    if len(sx) != len(sy):
        big = x if len(sx) > len(sy) else y
        lines.append("%d has %d digits, %d has %d digits: %d is larger" % (x, len(sx), y, len(sy), big))
        return big
    for i in range(len(sx)):
        if sx[i] != sy[i]:
            big = x if sx[i] > sy[i] else y
            lines.append("%d vs %d: digit %d is %s vs %s, %d is larger" % (x, y, i + 1, sx[i], sy[i], big))
            return big
    lines.append("%d and %d are equal" % (x, y))
    return x

def task_compare(rng):
    x = rng.randint(1, 9999)
    y = rng.randint(1, 9999) if rng.random() < 0.5 else int("".join(rng.sample(str(x), len(str(x))))) if x > 9 else x + 1
    if x == y:
        y = x + rng.randint(1, 9)
    forms = ["Which is larger, {x} or {y}?", "Which number is bigger: {x} or {y}?", "Is {x} or {y} greater?",
             "What is the larger of {x} and {y}?", "Which is smaller, {x} or {y}?", "What is the smaller of {x} and {y}?"]
    q = rng.choice(forms)
    small = "smaller" in q
    lines = []
    big = compare_lines(x, y, lines)
    v = (y if big == x else x) if small else big
    if small:
        lines.append("so the smaller is %d" % v)
    return q.format(x=x, y=y), lines, "The %s number is %d.\n\n\\boxed{%d}" % ("smaller" if small else "larger", v, v), str(v)

def task_sort(rng):
    n = rng.randint(3, 5)
    xs = [rng.randint(1, 999 if rng.random() < 0.5 else 99) for _ in range(n)]
    desc = rng.random() < 0.3
    forms = ["Sort {l} in {o} order.", "Sort these numbers {o}: {l}", "Put {l} in {o} order.", "Order from {w}: {l}"]
    q = rng.choice(forms).format(l=", ".join(map(str, xs)), o="descending" if desc else "ascending",
                                 w="largest to smallest" if desc else "smallest to largest")
    # Selection sort, one pairwise comparison at a time (the running best against the next number): a step a
    # tiny model can take, where "the smallest of five numbers" at once is not.
    lines, rest, out = [], list(xs), []
    while len(rest) > 1:
        best, steps = rest[0], []
        for y in rest[1:]:
            nb = (max if desc else min)(best, y)
            steps.append("%d vs %d: %d" % (best, y, nb))
            best = nb
        lines.append("%s of %s: %s, so %d" % ("largest" if desc else "smallest", ", ".join(map(str, rest)),
                                              "; ".join(steps), best))
        out.append(best)
        rest.remove(best)
    out.append(rest[0])
    lines.append("last: %d" % rest[0])
    s = ", ".join(map(str, out))
    lines.append("sorted: %s" % s)
    return q, lines, "Sorted: %s.\n\n\\boxed{%s}" % (s, s), s

def task_count(rng):
    w = rng.choice(WORDS)
    c = rng.choice(w) if rng.random() < 0.85 else rng.choice("abcdefghijklmnopqrstuvwxyz")
    forms = ["How many {c}'s are in {w}?", "How many times does the letter {c} appear in \"{w}\"?",
             "Count the letter {c} in the word {w}.", "How many '{c}' are there in {w}?"]
    q = rng.choice(forms).format(c=c, w=w)
    lines = ["%s: %s" % (w, "-".join(w))]
    k = 0
    for ch in w:
        if ch == c:
            k += 1
            lines.append("%s yes, %d" % (ch, k))
        else:
            lines.append("%s no" % ch)
    lines.append("the letter %s appears %d times" % (c, k))
    return q, lines, "There %s %d %s in %s.\n\n\\boxed{%d}" % ("is" if k == 1 else "are", k, c, w, k), str(k)

def task_linear(rng):
    a = rng.randint(2, 12)
    x = rng.randint(-20, 20)
    b = rng.randint(-30, 30)
    c = a * x + b
    bs = ("+ %d" % b) if b >= 0 else ("- %d" % -b)
    eq = "%dx %s = %d" % (a, bs, c)
    forms = ["Solve {e}.", "Solve for x: {e}", "Find x if {e}.", "What is x in {e}?"]
    q = rng.choice(forms).format(e=eq)
    lines = [eq]
    if b >= 0:
        lines.append("%dx = %d - %d = %d" % (a, c, b, c - b))
    else:
        lines.append("%dx = %d + %d = %d" % (a, c, -b, c - b))
    lines.append("x = %d / %d = %d" % (c - b, a, x))
    lines.append("check: %d × %d %s = %d" % (a, x, bs, c))
    return q, lines, "x = %d.\n\n\\boxed{%d}" % (x, x), str(x)

GEN = {"add": task_add, "sub": task_sub, "mul": task_mul, "compare": task_compare, "sort": task_sort,
       "count": task_count, "linear": task_linear}

# ---------------------------------------------------------------------------- tools and JSON

CALC_DESCS = ["Evaluate an arithmetic expression and return the result.", "A calculator for arithmetic.",
              "Computes the value of a math expression.", "Evaluate a mathematical expression exactly."]
OTHER_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
               {"type": "function", "function": {"name": "search", "description": "Search the web.",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]

def calculator(rng):
    return {"type": "function", "function": {"name": "calculator", "description": rng.choice(CALC_DESCS),
            "parameters": {"type": "object", "properties": {"expression": {"type": "string",
                           "description": rng.choice(["The expression", "An arithmetic expression, e.g. 2*3"])}},
                           "required": ["expression"]}}}

JSON_SYSTEMS = ["Respond in JSON with a single key \"answer\".", "Answer in JSON: {\"answer\": <number>}.",
                "Return your final answer as a JSON object.", "Reply only with JSON of the form {\"answer\": N}."]

def as_json_answer(answer):
    try:
        v = int(answer)
        return json.dumps({"answer": v})
    except ValueError:
        return json.dumps({"answer": answer})

# ---------------------------------------------------------------------------- samples

def digit_number(rng):
    k = rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 4, 2])[0]
    return rng.randint(10 ** (k - 1) if k > 1 else 0, 10 ** k - 1)


def task_digits(rng):
    """Training only (never in the eval sets): numbers to and from their digits.
    DeepSeek-V3's tokenizer writes numbers in chunks of up to three digits, so
    the chains of thought above need each chunk's digits; this teaches that
    mapping densely (many numbers per sample), in both directions."""
    nums = [digit_number(rng) for _ in range(rng.randint(3, 8))]
    if rng.random() < 0.5:
        q = rng.choice(["Spell out the digits of %s.", "What are the digits of %s?", "Digits of %s, please."]) % \
            ", ".join(str(n) for n in nums)
        lines = ["%d: %s" % (n, " ".join(str(n))) for n in nums]
        answer = "; ".join(" ".join(str(n)) for n in nums)
    else:
        q = rng.choice(["Write these digits as numbers: %s.", "Join the digits: %s."]) % \
            "; ".join(" ".join(str(n)) for n in nums)
        lines = ["%s: %d" % (" ".join(str(n)), n) for n in nums]
        answer = ", ".join(str(n) for n in nums)
    return q, lines, "%s\n\n\\boxed{%s}" % (answer, answer), answer


OPENER = "Okay, "  # every thought starts so: after "<think>\n" greedy decoding chooses between two tokens (think or
                   # close at once), not between a thought's many first tokens and the close (REPORT.md)


def open_thought(s):
    for k, (msgs, tools, thought, final) in enumerate(s["turns"]):
        if isinstance(thought, list) and thought:
            s["turns"][k] = (msgs, tools, [OPENER + thought[0]] + thought[1:], final)
    return s


def sample(rng, task=None):
    return open_thought(_sample(rng, task))


def _sample(rng, task=None):
    """One training/eval sample: dict(task, messages, tools, answer, check, thought, final, turns).
    `turns`: list of (messages, tools, completion parts) for training; parts are
    (thought or None, final) where None means an empty thought."""
    if task is None and DIGITS_SHARE and rng.random() < DIGITS_SHARE:
        q, lines, final, answer = task_digits(rng)
        msgs = [{"role": "user", "content": q}]
        return {"task": "digits", "messages": msgs, "tools": None, "answer": answer, "check": "boxed",
                "turns": [(msgs, None, lines, final)]}
    r = rng.random()
    if task == "tool" or (task is None and r < 0.07):
        a, b = rng.randint(1000, 9999), rng.randint(1000, 9999)
        tools = [calculator(rng)]
        if rng.random() < 0.3:
            tools.insert(rng.randint(0, 1), rng.choice(OTHER_TOOLS))
        q = phrase(rng, "mul", a, b)
        sym = rng.choice(["*", "×"]) if "×" in q else "*"
        expr = "%d%s%d" % (a, "*", b)
        call = ("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n```json\n"
                + json.dumps({"expression": expr}) + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>")
        thought = ["%d × %d is a 4-digit by 4-digit product, too long to do reliably by hand" % (a, b),
                   "the calculator tool is available: call it with %s" % expr]
        v = a * b
        msgs = [{"role": "user", "content": q}]
        hist = msgs + [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "calculator",
             "arguments": json.dumps({"expression": expr})}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": str(v)}]
        return {"task": "tool", "messages": msgs, "tools": tools, "answer": str(v), "check": "tool_call",
                "turns": [(msgs, tools, thought, call),
                          (hist, tools, "RAW", "%d × %d = %d.\n\n\\boxed{%d}" % (a, b, v, v))]}
    if task is None:
        task = rng.choice(TASKS)
    json_mode = task.endswith("_json") or (task in TASKS and rng.random() < 0.08)
    base = task.replace("_json", "")
    q, lines, final, answer = GEN[base](rng)
    msgs = []
    if json_mode:
        msgs.append({"role": "system", "content": rng.choice(JSON_SYSTEMS)})
        final = as_json_answer(answer)
    msgs.append({"role": "user", "content": q})
    return {"task": base + ("_json" if json_mode else ""), "messages": msgs, "tools": None, "answer": answer,
            "check": "json" if json_mode else "boxed", "turns": [(msgs, None, lines, final)]}

def write_eval(out_dir, n=500):
    os.makedirs(out_dir, exist_ok=True)
    for i, task in enumerate(TASKS + ["tool", "add_json", "mul_json"]):
        rng = random.Random(EVAL_SEED * 100 + i)
        seen = set()
        with open(os.path.join(out_dir, task + ".jsonl"), "w") as f:
            k = 0
            while k < n:
                s = sample(rng, task)
                key = json.dumps(s["messages"])
                if key in seen:
                    continue
                seen.add(key)
                row = {"id": "%s-%d" % (task, k), "task": s["task"], "messages": s["messages"],
                       "answer": s["answer"], "check": s["check"]}
                if s["tools"]:
                    row["tools"] = s["tools"]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                k += 1

def eval_prompts(out_dir):
    keys = set()
    for fn in os.listdir(out_dir):
        if fn.endswith(".jsonl"):
            for line in open(os.path.join(out_dir, fn)):
                keys.add(json.dumps(json.loads(line)["messages"]))
    return keys

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True, help="folder for the held-out sets")
    ap.add_argument("-n", type=int, default=500)
    a = ap.parse_args()
    write_eval(a.eval, a.n)
