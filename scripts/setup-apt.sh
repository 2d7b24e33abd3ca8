#!/usr/bin/env bash
# Installs the system packages streetseg needs, only those that are missing (idempotent).
set -euo pipefail
# python3-protobuf + python3-crcmod read our TensorBoard files back in tests; chromium renders the report;
# ffmpeg decodes and encodes video for predict; libgloo-dev has the Gloo headers c10d needs (distributed);
# python3-onnx runs onnx.checker on our exported graphs in tests.
pkgs=(libtorch-dev libopenblas0-openmp g++ make python3 python3-torch python3-pil python3-protobuf python3-crcmod chromium ffmpeg libgloo-dev python3-onnx)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present (${pkgs[*]})"
else
  echo "setup: installing ${missing[*]}"
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root or sudo to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libtorch's parallel backend is OpenMP: libblas.so.3 must be OpenBLAS's OpenMP build. Without OpenBLAS
# it is the reference BLAS (6-13x slower); the pthread build may also be selected if another package
# pulled it in, and then its threads compete with OpenMP's.
triplet="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  want="/usr/lib/$triplet/openblas-openmp/$lib"
  current="$(update-alternatives --query "$lib-$triplet" 2>/dev/null | sed -n 's/^Value: //p')"
  if [ -e "$want" ] && [ "$current" != "$want" ]; then
    echo "setup: pointing $lib at OpenBLAS (OpenMP) instead of ${current:-nothing}"
    $SUDO update-alternatives --set "$lib-$triplet" "$want" >/dev/null
  fi
done
