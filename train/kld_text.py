"""A text for `r1 kld` on the trained tiny models: problems of gen_tasks.py in
R1's chat format, as train_tiny.py shows them to the model (user turn, then
<think> the steps </think> and the answer, then the end token), one after
another. Deterministic; drawn from the held-out seed (training never uses it).

    python3 train/kld_text.py -n 220 > /tmp/kld/text.txt   # ~13k tokens of r1-tiny

The first problem has no <｜begin▁of▁sentence｜> of its own: r1 kld puts BOS
at the start of every chunk. Tool-call problems are left out (their prompt
is the template's tool block, not plain text). Never used by the build or tests.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tasks  # noqa: E402

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


def render(s):
    system = "".join(m["content"] for m in s["messages"] if m["role"] == "system")
    user = "".join(m["content"] for m in s["messages"] if m["role"] == "user")
    _, _, thought, final = s["turns"][0]
    return (system + "<｜User｜>" + user + "<｜Assistant｜><think>\n" + "\n".join(thought) + "\n</think>\n\n" +
            final + EOS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=220, help="problems")
    ap.add_argument("--seed", type=int, default=gen_tasks.EVAL_SEED + 1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = []
    while len(out) < a.n:
        s = gen_tasks.sample(rng)
        if s["task"] == "tool":
            continue
        out.append(render(s))
    sys.stdout.write(BOS.join(out))


if __name__ == "__main__":
    main()
