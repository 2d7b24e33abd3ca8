"""Eval-mode logits of the reference model for an HF checkpoint directory (config.json + model.safetensors) and a
raw float32 NCHW input; with --variant, also the parameter count of bench_mobile.py's build(variant).

usage: python3 run_checkpoint.py CKPT_DIR INPUT.bin N,C,H,W OUT.bin [--variant xx-small]
Prints one JSON line: {"shape", "params", "build_params"?}."""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_checkpoint  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("ckpt")
ap.add_argument("input")
ap.add_argument("shape")
ap.add_argument("out")
ap.add_argument("--variant")
a = ap.parse_args()
torch.set_num_threads(1)

model = hf_checkpoint.load(a.ckpt).eval()
dims = [int(d) for d in a.shape.split(",")]
raw = bytearray(open(a.input, "rb").read())
if len(raw) != 4 * torch.Size(dims).numel():
    raise ValueError(f"{a.input}: {len(raw)} bytes, expected float32 {dims}")
with torch.no_grad():
    y = model(torch.frombuffer(raw, dtype=torch.float32).reshape(dims))
with open(a.out + ".tmp", "wb") as f:
    f.write(y.contiguous().numpy().tobytes())
os.replace(a.out + ".tmp", a.out)
res = dict(shape=list(y.shape), params=sum(p.numel() for p in model.parameters()))
if a.variant:
    family = hf_checkpoint.FAMILIES[model.__module__]
    res["build_params"] = sum(p.numel() for p in family.build(a.variant, model.config.num_labels).parameters())
print(json.dumps(res))
