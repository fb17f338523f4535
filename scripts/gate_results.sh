#!/usr/bin/env bash
# The release gate's cost on the full Fashion-MNIST test set (10,000 images) with the
# shipped model fmnist-cnn-s025 at R = 0.25: a clear pass (A = 0.5) and a clear fail
# (A = 0.95), each as the GateVerdict JSON in docs/results/gate/. The images and model
# evaluations the gate used are in those files; docs/RESULTS.md compares them with
# certifying all 10,000 images at the same fixed n0 + n_max (computed, not run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/gate
mkdir -p "$out"
# Thresholds as arguments (default: the clear pass and the clear fail); near the truth:
#   scripts/gate_results.sh 0.75 0.736 0.73 0.72 0.70 0.686 0.67 0.65   (docs/RESULTS.md)
thresholds=("$@"); [ ${#thresholds[@]} -gt 0 ] || thresholds=(0.5 0.95)
for threshold in "${thresholds[@]}"; do
  # exit 1 (fail or undecided) is a result here, not an error; 2 is an error
  status=0
  .venv/bin/certify gate --model fmnist-cnn-s025 --data fashion-mnist --radius 0.25 \
    --min-accuracy "$threshold" --confidence 0.99 --alpha 0.001 --n0 100 --n-max 10000 \
    --seed 0 --device cpu --json > "$out/gate-A$threshold.json" || status=$?
  if [ "$status" -ge 2 ]; then exit "$status"; fi
  cat "$out/gate-A$threshold.json"
done
