#!/usr/bin/env bash
# Installs the system packages streetseg needs, only those that are missing (idempotent).
set -euo pipefail
pkgs=(libtorch-dev libopenblas0-openmp g++ make python3 python3-torch python3-pil)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present (${pkgs[*]})"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Without OpenBLAS Debian's libtorch falls back to the reference BLAS (6-13x slower): check the link.
if command -v update-alternatives >/dev/null; then
  update-alternatives --query libblas.so.3-"$(uname -m)"-linux-gnu 2>/dev/null | grep -q openblas \
    || echo "setup: WARNING libblas.so.3 does not point at OpenBLAS" >&2
fi
