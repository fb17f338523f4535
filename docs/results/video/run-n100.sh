#!/bin/bash
# Video results: 200 moving-Fashion-MNIST test clips, n=100, n0=10, alpha=0.001, sigma=0.25.
cd "$(dirname "$0")/../../.."
C="nice -n 10 .venv/bin/certify evaluate --dataset moving-fashion-mnist --count 200 --n0 10 --batch-size 300 --threads 2"
$C --method cohen --n 100 --label "cohen n=100" --out docs/results/video/cohen
$C --method smooth-reduce --aggregate mean --noise shared --n 100 --label "smooth-reduce mean shared" --out docs/results/video/sr-mean-shared
$C --method smooth-reduce --aggregate mean --noise independent --n 100 --label "smooth-reduce mean independent" --out docs/results/video/sr-mean-independent
$C --method smooth-reduce --aggregate max --noise shared --n 100 --label "smooth-reduce max shared" --out docs/results/video/sr-max-shared
$C --method smooth-reduce --aggregate max --noise independent --n 100 --label "smooth-reduce max independent" --out docs/results/video/sr-max-independent
$C --method cohen --n 150 --label "cohen n=150 (equal compute)" --out docs/results/video/cohen-n150
echo done
