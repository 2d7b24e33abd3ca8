"""How far an HF parity fixture's float32 numbers are from the same case computed in float64 by a PyTorch
reference of the model: the fixture's own float32 rounding, measured without streetseg's code.

usage: python3 fixture_noise_reference.py FIXTURE_DIR [--segformer-reference DIR] [--float32]
DIR holds the PyTorch SegFormer (shared/reference/pytorch/segformer.py); MobileViT and MobileNetV2 use
bench/pytorch's references. Prints one JSON line: logits (max |change|), loss (relative change) and grads
(per parameter max|g_fixture - g| / max|g|), with the definitions of the fixtures' meta.json
(logits_max_abs_change, grad_max_rel_change). --float32 runs the reference in float32 instead, which
shows whether it reproduces the fixture's own arithmetic (then every change is about 0)."""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "bench", "pytorch"))
import hf_checkpoint  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("fixture")
ap.add_argument("--segformer-reference")
ap.add_argument("--float32", action="store_true")
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
dtype = torch.float32 if a.float32 else torch.float64

meta = json.load(open(os.path.join(a.fixture, "meta.json")))


def tensor(name):
    spec = meta["files"][name]
    raw = bytearray(open(os.path.join(a.fixture, name), "rb").read())
    return torch.frombuffer(raw, dtype={"float32": torch.float32, "int64": torch.int64}[spec["dtype"]]).reshape(spec["shape"])


def load():
    cfg = json.load(open(os.path.join(a.fixture, "config.json")))
    if cfg.get("model_type") != "segformer":
        return hf_checkpoint.load(a.fixture)
    if not a.segformer_reference:
        raise SystemExit(f"{a.fixture} is a SegFormer fixture: give --segformer-reference DIR (holding segformer.py)")
    sys.path.insert(0, a.segformer_reference)
    import segformer  # noqa: E402
    fields = {k: cfg[k] for k in ["depths", "sr_ratios", "hidden_sizes", "patch_sizes", "strides", "num_attention_heads",
                                  "mlp_ratios", "decoder_hidden_size", "num_encoder_blocks", "num_channels"]}
    model = segformer.SegformerForSemanticSegmentation(segformer.Config(num_labels=len(cfg["id2label"]), **fields))
    model.load_state_dict(hf_checkpoint.read_safetensors(os.path.join(a.fixture, "model.safetensors")), strict=True)
    return model


model = load().to(dtype)
model.eval()
x, labels, weights = tensor("input.bin").to(dtype), tensor("labels.bin"), tensor("class_weights.bin").to(dtype)
logits = model(x)
up = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
loss = F.cross_entropy(up, labels, weight=weights, ignore_index=meta["ignore_index"])
loss.backward()
params = dict(model.named_parameters())
grads = {}
for name, file in meta["grads"].items():
    g = params[name].grad.double()
    grads[name] = float((tensor(file).double() - g).abs().max() / g.abs().max())
print(json.dumps(dict(
    dtype=str(dtype).replace("torch.", ""),
    logits=float((tensor("logits.bin").double() - logits.detach().double()).abs().max()),
    loss=abs(meta["loss"] - loss.item()) / abs(loss.item()),
    grads=grads,
)))
