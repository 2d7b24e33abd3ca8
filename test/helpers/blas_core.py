"""Prints the OpenBLAS kernels PyTorch runs with, and the OPENBLAS_CORETYPE it was given, as one JSON line."""
import ctypes, json, os
import torch  # loads libopenblas (via libblas.so.3) the way the reference benchmarks do

try:
    lib = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    core = lib.openblas_get_corename().decode()
except OSError:
    core = "unknown"
print(json.dumps({"blasCore": core, "coretype": os.environ.get("OPENBLAS_CORETYPE"), "torch": torch.__version__}))
