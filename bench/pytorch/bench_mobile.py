"""Benchmark the MobileViT / MobileNetV2 PyTorch references: inference or one training step on CPU.

usage: python3 bench_mobile.py --model-type mobilevit|mobilenet_v2 --mode infer|train --variant xx-small
           --h 360 --w 480 --batch 1 [--iters N --warmup N --threads 2 --num-labels 11 --profile]
Prints one JSON line with the same fields as shared/reference/pytorch/bench.py (SegFormer's peer) plus
cpu_median_s (process CPU time per step, all threads), and does the
same work: random input; inference in eval mode under no_grad; a training step in train mode = forward,
bilinear upsampling of the logits to the input size, weighted cross-entropy with 5% ignored pixels, backward,
AdamW(lr 6e-4, betas (0.9, 0.999), weight decay 0.01).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mobilenet_v2  # noqa: E402
import mobilevit  # noqa: E402

FAMILIES = {"mobilevit": mobilevit, "mobilenet_v2": mobilenet_v2}

ap = argparse.ArgumentParser()
ap.add_argument("--model-type", choices=sorted(FAMILIES), required=True)
ap.add_argument("--variant", required=True)
ap.add_argument("--mode", choices=["infer", "train"], default="infer")
ap.add_argument("--h", type=int, default=360)
ap.add_argument("--w", type=int, default=480)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--iters", type=int, default=None)
ap.add_argument("--warmup", type=int, default=None)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--num-labels", type=int, default=11)
ap.add_argument("--profile", action="store_true", help="print top ops (torch.profiler) for one extra iteration")
a = ap.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
iters = a.iters or (10 if a.mode == "infer" else 5)
warmup = a.warmup if a.warmup is not None else (3 if a.mode == "infer" else 2)

model = FAMILIES[a.model_type].build(a.variant, a.num_labels)
x = torch.randn(a.batch, 3, a.h, a.w)

if a.mode == "infer":
    model.eval()

    def step():
        with torch.no_grad():
            return model(x)
else:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.999), weight_decay=0.01)
    labels = torch.randint(0, a.num_labels, (a.batch, a.h, a.w))
    labels[torch.rand(labels.shape) < 0.05] = 255  # some ignored pixels
    class_w = torch.linspace(0.5, 2.0, a.num_labels)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        up = F.interpolate(logits, size=(a.h, a.w), mode="bilinear", align_corners=False)
        loss = F.cross_entropy(up, labels, weight=class_w, ignore_index=255)
        loss.backward()
        opt.step()
        return loss

for _ in range(warmup):
    step()
times, cpu = [], []  # wall and process CPU time (all threads) per step
for _ in range(iters):
    c0, t0 = time.process_time(), time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)

med = statistics.median(times)
res = dict(mode=a.mode, model_type=a.model_type, variant=a.variant, h=a.h, w=a.w, batch=a.batch,
           threads=torch.get_num_threads(), warmup=warmup, iters=iters, times_s=[round(t, 4) for t in times],
           median_s=round(med, 4), min_s=round(min(times), 4), cpu_median_s=round(statistics.median(cpu), 4), images_per_s=round(a.batch / med, 3),
           ms_per_image=round(1000 * med / a.batch, 1), params=sum(p.numel() for p in model.parameters()),
           torch=torch.__version__, python=platform.python_version())
print(json.dumps(res), flush=True)

if a.profile:
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
