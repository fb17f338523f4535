#!/usr/bin/env bash
# The throughput table of docs/RESULTS.md again, in one command: benchmarks/throughput.py
# (Cohen, n = 5,000, all four modes side by side, repetitions interleaved, medians) writes
# docs/results/precision/throughput.md, then the generated block of RESULTS.md is rewritten
# from it (scripts/precision_table.py). The certifier-to-bare ratios are what the issue's
# targets are about; absolute rates only mean something on a quiet machine, so the load
# average is printed before the run and written under the table after it.
#   REPEATS=5 scripts/throughput_table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
.venv/bin/python benchmarks/throughput.py --cases cohen --repeats "${REPEATS:-5}" \
    --markdown docs/results/precision/throughput.md
.venv/bin/python scripts/regenerate_tables.py docs/RESULTS.md
echo "rewrote the generated tables of docs/RESULTS.md"
