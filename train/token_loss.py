"""Per-token loss of a compact checkpoint on fresh samples, printed token by token
("piece[nats]"): shows which tokens a model has learnt (copies, carries) and which
it has not. Usage: python3 train/token_loss.py NAME DIMS CHECKPOINT"""
import json, os, sys, random
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, "train"); sys.path.insert(0, "tests/ref")
import train_tiny as T, models
torch.set_num_threads(1)
name, dims = sys.argv[1], json.loads(sys.argv[2])
spec = T.SPECS[name]; tmpl_text = open(T.TEMPLATE).read()
tok_dir, bos, eos_text = T.tokenizer_dir(name, spec, tmpl_text)
M, used = T.load_compact(name, dims, sys.argv[3])
remap = {t: i for i, t in enumerate(used)}
vocab = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
inv = {v: k for k, v in vocab["model"]["vocab"].items()}
for t in vocab["added_tokens"]: inv[t["id"]] = t["content"]
data = T.build_data(name, 12, 99, tok_dir, bos, eos_text, set())
for task, s, m in data[:6]:
    x = torch.tensor([[remap[t] for t in s]])
    with torch.no_grad():
        lg = M(x)[0][0]
    lg = torch.cat([lg, torch.full((lg.shape[0], 1), 11.7)], -1)
    lp = F.log_softmax(lg, -1)
    out = []
    for i in range(1, len(s)):
        if not m[i]: continue
        l = -float(lp[i - 1, remap[s[i]]])
        out.append("%s[%.1f]" % (inv.get(s[i], "?").replace("Ġ", " ").replace("Ċ", "\\n"), l))
    print("==", task, " ".join(out)[:1500])
