"""The same three engine measurements as bench/engine.ts, in PyTorch, for a side-by-side run.
usage: /usr/bin/python3 bench/engine_torch.py [--quick]  -> one JSON line"""
import ctypes, json, os, statistics, sys, time
import torch
import torch.nn.functional as F

quick = "--quick" in sys.argv
torch.set_num_threads(int(os.environ.get("STREETSEG_THREADS") or os.cpu_count()))

def blas_core():
    """openblas_get_corename() of the OpenBLAS torch loaded (RTLD_NOLOAD: never loads a second one)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return "unknown"
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return lib.openblas_get_corename().decode()

def time_ms(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out

with torch.inference_mode():
    a = torch.randn(2048, 1024)
    b = torch.randn(1024, 1024)
    mm = statistics.median(time_ms(lambda: a @ b, 3 if quick else 20, 3))
    s = torch.zeros(1)
    n = 20000 if quick else 200000
    for _ in range(2000):
        s + s
    t0 = time.perf_counter()
    for _ in range(n):
        s + s
    op_us = (time.perf_counter() - t0) * 1e6 / n
    x = torch.randn(2, 3, 360, 480)
    w = torch.randn(32, 3, 7, 7)
    bias = torch.randn(32)
    conv = statistics.median(time_ms(lambda: F.conv2d(x, w, bias, stride=4, padding=3), 3 if quick else 20, 3))
print(json.dumps({"matmulGflops": round(2 * 2048 * 1024 * 1024 / (mm / 1e3) / 1e9, 1), "opOverheadUs": round(op_us, 2),
                  "conv2dMs": round(conv, 2), "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "blasCore": blas_core()}))
