"""Compare the torch model (weights loaded from a compact checkpoint, so F16-rounded)
with tests/ref/reference.py's float64 forward on the same compact GGUF.
Usage: python3 train/verify_ref.py NAME DIMS_JSON"""
import json, os, sys
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__)); ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE); sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import models, reference
from gguf import GGUFFile
torch.set_num_threads(1)
name = sys.argv[1]; dims = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
path = os.path.join(ROOT, "data", "trained", name + ".gguf")
g = GGUFFile(path); used = [int(x) for x in g.kv["r1.trained.used_ids"]]
M = models.DeepSeek2(models.DSConfig(n_vocab=len(used), **dims)) if name == "r1-tiny" else models.Qwen2(models.QConfig(n_vocab=len(used), **dims))
with torch.no_grad():
    for n, t in M.gguf_params().items():
        t.copy_(torch.from_numpy(np.ascontiguousarray(g.tensor(n)).astype(np.float32)).reshape(t.shape))
M.eval()
ref = reference.load_model(path)
rng = np.random.default_rng(0); worst = 0.0
for L in (5, 17, 40):
    toks = [int(x) for x in rng.integers(0, len(used), L)]
    with torch.no_grad():
        a = M(torch.tensor([toks]))[0][0].double().numpy()
    b, _ = ref.forward(toks)
    d = float(np.abs(a - b).max()); worst = max(worst, d)
    print("%s len %d: max|torch-ref| %.3g (logit range %.3g)" % (name, L, d, float(np.abs(b).max())))
print("%s worst %.3g" % (name, worst))
