"""Greedy accuracy in torch on the first K problems of some data/eval files
(thinking, and with "\\n</think>\\n\\n" forced). Usage: python3 train/torch_eval.py NAME DIMS K FILE..."""
import json, os, re, sys
import numpy as np, torch, jinja2, jinja2.sandbox
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
import train_tiny as T, models
torch.set_num_threads(1)
name, dims, K, files = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
spec = T.SPECS[name]; tmpl_text = open(T.TEMPLATE).read()
tok_dir, bos, eos_text = T.tokenizer_dir(name, spec, tmpl_text)
env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.filters["tojson"] = lambda v, **k: json.dumps(v, ensure_ascii=False, **k)
tmpl = env.from_string(tmpl_text)
M, used = T.load_compact(name, dims, os.path.join(T.ROOT, "data", "trained", name + ".gguf"))
remap = {t: i for i, t in enumerate(used)}
vocab = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
for f in files:
    rows = [json.loads(l) for l in open(f)][:K]
    prompts = [T.render(tmpl, r["messages"], r.get("tools"), bos) for r in rows]
    for forced in (False, True):
        ps = [p + ("\n</think>\n\n" if forced else "") for p in prompts]
        ids = T.tokenize(tok_dir, ps); ok = 0; outs = []
        for r, s in zip(rows, ids):
            x = [remap.get(t, 0) for t in s]; gen = []
            with torch.no_grad():
                for _ in range(200):
                    nxt = int(M(torch.tensor([x]))[0][0, -1].argmax()); x.append(nxt); gen.append(used[nxt])
                    if used[nxt] == spec["eos"]: break
            outs.append(gen)
            ok += 0  # decode below
        # decode through the engine's detokenizer is not exposed; compare boxed/json digits via piece text
        print("%s forced=%s: generated %d sequences; first ids %s" % (os.path.basename(f), forced, len(outs), outs[0][:30]), flush=True)
        json.dump([[r["answer"], o] for r, o in zip(rows, outs)], open("/tmp/h/torch_%s_%s_%d.json" % (name, os.path.basename(f), forced), "w"))
