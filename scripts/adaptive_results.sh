#!/usr/bin/env bash
# The adaptive-sampling measurements of docs/RESULTS.md, one run at a time.
# Resumable: a run whose summary.json exists is skipped, so rerunning after an
# interruption continues where it stopped. Every run sees the same test images
# (every 50th) and the same noise seeds (image idx uses seed idx).
# The counts fit the forward passes one session could spend on 2 shared CPU
# cores; the table compares runs on the images they have in common.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-130}                # Cohen fixed and decision runs at n = 10,000
EST_COUNT=${EST_COUNT:-40}        # Cohen estimation (as costly as fixed n on most images)
SR_COUNT=${SR_COUNT:-40}           # Smooth-Reduce k = 9 runs (9x the cost per sample; the committed estimation run has 10)
SMALL_COUNT=${SMALL_COUNT:-200}    # Cohen at n0 = 100, n = 1,000
SMALL_SR_COUNT=${SMALL_SR_COUNT:-130}  # Smooth-Reduce at n0 = 100, n = 1,000
LARGE_COUNT=${LARGE_COUNT:-50}     # Cohen fixed and decision runs at n = 100,000
R=docs/results/adaptive
CERTIFY=${CERTIFY:-.venv/bin/certify}
BASE="--model fmnist-cnn-s025 --skip 50 --n0 100 --alpha 0.001 --sigma 0.25 --seed 0 --threads ${THREADS:-2}"
RADII="--radii 0 0.25 0.5 0.75 1.0"
SR="--method smooth-reduce --aggregate mean --noise shared"

run() {  # run NAME ARGS...: skip when already complete
  local name=$1; shift
  if [[ -f $R/$name/summary.json ]]; then echo "done already: $name"; return; fi
  echo "$(date -u +%H:%M:%S) start $name"
  "$CERTIFY" evaluate $BASE $RADII "$@" --out "$R/$name"
}

run cohen-fixed-n10k --count "$COUNT" --n 10000 --label "cohen fixed n=10000"
run cohen-decision-r025 --count "$COUNT" --n 10000 --sampling adaptive --radius 0.25 --label "cohen adaptive decision R=0.25"
run cohen-decision-r050 --count "$COUNT" --n 10000 --sampling adaptive --radius 0.5 --label "cohen adaptive decision R=0.5"
run cohen-estimation-n10k --count "$EST_COUNT" --n 10000 --sampling adaptive --label "cohen adaptive estimation n_max=10000"
run n1k-cohen --count "$SMALL_COUNT" --n 1000 --label "cohen n=1000"
run sr-decision-r025 --count "$SR_COUNT" --n 10000 $SR --sampling adaptive --radius 0.25 --label "SR mean shared adaptive decision R=0.25"
run sr-decision-r050 --count "$SR_COUNT" --n 10000 $SR --sampling adaptive --radius 0.5 --label "SR mean shared adaptive decision R=0.5"
run sr-fixed-n10k --count "$SR_COUNT" --n 10000 $SR --label "SR mean shared fixed n=10000"
run sr-estimation-n10k --count "$SR_COUNT" --n 10000 $SR --sampling adaptive --label "SR mean shared adaptive estimation n_max=10000"
run cohen-fixed-n100k --count "$LARGE_COUNT" --n 100000 --label "cohen fixed n=100000"
run cohen-decision-r025-n100k --count "$LARGE_COUNT" --n 100000 --sampling adaptive --radius 0.25 --label "cohen adaptive decision R=0.25 n_max=100000"
run cohen-decision-r050-n100k --count "$LARGE_COUNT" --n 100000 --sampling adaptive --radius 0.5 --label "cohen adaptive decision R=0.5 n_max=100000"
# Cohen at equal compute to Smooth-Reduce k = 9 at n0 = 100, n = 1,000 (9,900 evaluations):
# cohen-fixed-n10k above (10,100 evaluations per image, 2% more).
S="--count $SMALL_SR_COUNT --n 1000"
run n1k-sr-mean-shared $S $SR --label "SR mean shared n=1000"
run n1k-sr-max-shared $S --method smooth-reduce --aggregate max --noise shared --label "SR max shared n=1000"
run n1k-sr-mean-independent $S --method smooth-reduce --aggregate mean --noise independent --label "SR mean independent n=1000"
echo "$(date -u +%H:%M:%S) all runs done"
