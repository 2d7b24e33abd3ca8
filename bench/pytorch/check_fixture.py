"""Runs a reference model on an HF parity fixture folder and prints how far it is from HF's own numbers.

usage: python3 check_fixture.py FIXTURE_DIR [--threads 1]
Prints one JSON line: logits_max_abs_diff, loss / expected_loss / loss_rel_diff (weighted CE on the
bilinearly upsampled logits, as the fixtures define it), and for each stored gradient its
max|g - g_hf| / max|g_hf| beside the fixture's suggested tolerance."""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_checkpoint  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("fixture")
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)

meta = json.load(open(os.path.join(a.fixture, "meta.json")))
files = meta["files"]


def tensor(name):
    spec = files[name]
    dtype = {"float32": torch.float32, "int64": torch.int64}[spec["dtype"]]
    raw = bytearray(open(os.path.join(a.fixture, name), "rb").read())
    if len(raw) != spec["bytes"]:
        raise ValueError(f"{a.fixture}/{name}: {len(raw)} bytes, meta.json says {spec['bytes']}")
    return torch.frombuffer(raw, dtype=dtype).reshape(spec["shape"])


model = hf_checkpoint.load(a.fixture)
model.eval()  # the fixtures are eval-mode numbers (dropout off, BatchNorm on running statistics)
x, labels, weights, expected = tensor("input.bin"), tensor("labels.bin"), tensor("class_weights.bin"), tensor("logits.bin")
logits = model(x)
if tuple(logits.shape) != tuple(expected.shape):
    raise ValueError(f"logits shape {tuple(logits.shape)}, fixture {tuple(expected.shape)}")
up = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
loss = F.cross_entropy(up, labels, weight=weights, ignore_index=255)
loss.backward()
params = dict(model.named_parameters())
grads = {}
for name, file in meta["grads"].items():
    g_hf = tensor(file)
    g = params[name].grad
    g = torch.zeros_like(g_hf) if g is None else g
    grads[name] = dict(rel_diff=float((g - g_hf).abs().max() / g_hf.abs().max()),
                       tolerance=meta["grad_max_rel_change"][name]["suggested_tolerance"])
print(json.dumps(dict(model_type=meta["model"], logits_max_abs_diff=float((logits.detach() - expected).abs().max()),
                      loss=loss.item(), expected_loss=meta["loss"], loss_rel_diff=abs(loss.item() - meta["loss"]) / meta["loss"],
                      grads=grads, num_parameters=sum(p.numel() for p in model.parameters()),
                      expected_num_parameters=meta["num_parameters"])))
