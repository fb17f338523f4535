#!/usr/bin/env bash
# Release gates through a running service: `certify serve` (embedded Redis, the shipped
# fmnist-cnn-s025) on a free loopback port, then `certify gate --service` with a clear pass
# (A = 0.5) and a clear fail (A = 0.95) at R = 0.25 on 400 Fashion-MNIST test images (one
# request holds at most CERTIFY_BATCH_MAX_FILES_PER_REQUEST, 500 by default). Each verdict,
# with the images and model evaluations used, lands in docs/results/gate/service-A*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/gate
mkdir -p "$out"
port=$(.venv/bin/python -c "from certify_cli.embedded import free_port; print(free_port())")
url=http://127.0.0.1:$port
data=$(mktemp -d /var/tmp/certify-gate-service.XXXXXX)
log=$data/serve.log
# A data folder of its own: the record store and signing keys of this run only.
XDG_DATA_HOME=$data .venv/bin/certify serve --port "$port" > "$log" 2>&1 &
serve=$!
trap 'kill -INT "$serve" 2>/dev/null; wait "$serve" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 240); do
  curl -sf "$url/readyz" >/dev/null && break
  kill -0 "$serve" 2>/dev/null || { cat "$log"; exit 2; }
  sleep 0.5
done
for threshold in 0.5 0.95; do
  start=$(date +%s)
  status=0  # exit 1 (fail or undecided) is a result here, not an error; 2 is an error
  .venv/bin/certify gate --service "$url" --model fmnist-cnn-s025 --data fashion-mnist \
    --max-images 400 --radius 0.25 --min-accuracy "$threshold" --confidence 0.99 \
    --alpha 0.001 --n0 100 --n-max 10000 --json > "$out/service-A$threshold.json" || status=$?
  if [ "$status" -ge 2 ]; then cat "$out/service-A$threshold.json" "$log"; exit "$status"; fi
  echo "A = $threshold: exit $status after $(( $(date +%s) - start )) s"
  cat "$out/service-A$threshold.json"
done
