#!/usr/bin/env bash
# fp32 against bf16 for docs/RESULTS.md: the same 200 Fashion-MNIST test images (every
# 50th) and the same noise seeds (image idx uses seed idx), Cohen at n0 = 100, n = 1,000.
# The fp32 arm is the committed docs/results/adaptive/n1k-cohen (this command without
# --precision; fp32 is the default and reruns reproduce its rows exactly).
# Resumable: a run whose summary.json exists is skipped. Then the throughput table
# (benchmarks/throughput.py, one run: all modes side by side). The tables of
# RESULTS.md come from `scripts/precision_table.py` over what these write.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-200}
R=docs/results/precision
CERTIFY=${CERTIFY:-.venv/bin/certify}
BASE="--model fmnist-cnn-s025 --skip 50 --n0 100 --n 1000 --alpha 0.001 --sigma 0.25 --seed 0 --threads ${THREADS:-2} --radii 0 0.25 0.5"

run() {  # run NAME ARGS...: skip when already complete
  local name=$1; shift
  if [[ -f $R/$name/summary.json ]]; then echo "done already: $name"; return; fi
  echo "$(date -u +%H:%M:%S) start $name"
  nice -n 10 "$CERTIFY" evaluate $BASE --count "$COUNT" "$@" --out "$R/$name"
}

run n1k-bf16 --precision bf16 --label "cohen n=1000 bf16"
if [[ ! -f $R/throughput.md ]]; then
  echo "$(date -u +%H:%M:%S) start throughput"
  nice -n 10 .venv/bin/python benchmarks/throughput.py --cases cohen --markdown "$R/throughput.md"
fi
