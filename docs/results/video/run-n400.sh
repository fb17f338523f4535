#!/bin/bash
cd "$(dirname "$0")/../../.."
C="nice -n 15 .venv/bin/certify evaluate --dataset moving-fashion-mnist --count 200 --n0 20 --batch-size 300 --threads 2"
$C --method cohen --n 400 --label "cohen n=400" --out docs/results/video/n400-cohen
$C --method smooth-reduce --aggregate mean --noise shared --n 400 --label "smooth-reduce mean shared n=400" --out docs/results/video/n400-sr-mean-shared
$C --method smooth-reduce --aggregate mean --noise independent --n 400 --label "smooth-reduce mean independent n=400" --out docs/results/video/n400-sr-mean-independent
echo done
