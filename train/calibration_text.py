#!/usr/bin/python3
"""Calibration / evaluation text for r1 imatrix and r1 kld on the trained tiny
models: task samples (train/gen_tasks.py, a seed other than training's) in
R1's chat format, user turn, thought and answer, one after another.

  python3 train/calibration_text.py --seed 7 -n 400 > /tmp/calib.txt
(use --parse-special with r1 so the chat markup becomes its tokens)"""
import argparse
import random
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_tasks  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=7)
ap.add_argument("-n", type=int, default=400)
a = ap.parse_args()
rng = random.Random(a.seed)
out = []
while len(out) < a.n:
    s = gen_tasks.sample(rng)
    if s["tools"]:
        continue
    msgs, _, lines, final = s["turns"][0]
    system = "".join(m["content"] for m in msgs if m["role"] == "system")
    user = "".join(m["content"] for m in msgs if m["role"] == "user")
    thought = "\n".join(lines) if lines else ""
    out.append("<｜begin▁of▁sentence｜>%s<｜User｜>%s<｜Assistant｜><think>\n%s\n</think>\n\n%s<｜end▁of▁sentence｜>"
               % (system, user, thought, final))
sys.stdout.write("".join(out))
