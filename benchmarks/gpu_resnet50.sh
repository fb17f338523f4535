#!/usr/bin/env bash
# For a machine with a CUDA GPU (a lent device; not run on the project's CPU-only machine):
# the GPU tests of precision and batch invariance, then benchmarks/throughput.py on an
# ImageNet ResNet-50 (random weights) at 224 x 224 in fp32, bf16 and fp16, eager, and bf16
# compiled: certifier against a bare forward loop, all modes side by side in one run.
# Writes gpu-tests.log, throughput.log and throughput-resnet50-cuda.md under $OUT (or /tmp).
# About 5 minutes on one H100 (compiling ResNet-50 takes one or two of them).
#
#     benchmarks/gpu_resnet50.sh            # PY=python3 where the machine's torch lives
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${PY:-} ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'
"$PY" -m pytest -q -p no:cacheprovider -m gpu tests/core/test_arithmetic.py \
  tests/core/test_sampling.py 2>&1 | tee "$OUT/gpu-tests.log"
"$PY" benchmarks/throughput.py --model resnet50 --device cuda \
  --modes fp32:off,bf16:off,fp16:off,bf16:default --cases cohen \
  --n 10000 --batch-size 256 --repeats 3 \
  --markdown "$OUT/throughput-resnet50-cuda.md" 2>&1 | tee "$OUT/throughput.log"
