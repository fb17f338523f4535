#!/usr/bin/env bash
# The deployment, run for real in podman: images built, docker-compose.yml (CPU override) up
# under podman-compose, then deploy/k8s/ under `podman kube play`; jobs certified through both.
#   scripts/container_smoke.sh        (make container-test; .ci/run with CERTIFY_CONTAINER_TEST=1)
# Needs podman, podman-compose, debootstrap and runc (Debian's), and the dev venv (.venv) for
# the client side. Prints image sizes, time to healthy and jobs/s with 1 and 2 workers.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
PY=${PY:-$PWD/.venv/bin/python}
SAMPLES=certify_core/samples
PROJECT=certify-smoke
API_PORT=${CERTIFY_SMOKE_API_PORT:-18000}
KUBE_PORT=${CERTIFY_SMOKE_KUBE_PORT:-18001}
KEY=smoke-$(openssl rand -hex 8)
ADMIN_KEY=smoke-admin-$(openssl rand -hex 8)  # registers models (CERTIFY_MODEL_UPLOADS=admin)
work=$(mktemp -d /var/tmp/certify-smoke.XXXXXX)
figures=$work/figures.txt

say() { printf '\n== %s\n' "$*"; }
figure() { printf '%s\n' "$*" | tee -a "$figures"; }
smoke() { PYTHONPATH=$PWD "$PY" scripts/container_smoke.py "$@"; }  # certify_testkit: the test models
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
compose() { podman-compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.cpu.yml "$@"; }
workers() { podman ps --filter "label=com.docker.compose.project=$PROJECT" \
                --filter "label=com.docker.compose.service=worker-cpu" --format '{{.Names}}'; }
started_jobs() { podman logs "$1" 2>&1 | grep -c '"event": *"job_started"' || true; }

healthy() {  # runs the containers' own health checks (no systemd timer runs them here)
    local deadline=$(( $(date +%s) + $2 )) name
    for name in $1; do
        until podman healthcheck run "$name" >/dev/null 2>&1; do
            [ "$(date +%s)" -lt "$deadline" ] || { podman logs --tail 30 "$name"; return 1; }
            sleep 2
        done
    done
}

teardown() {
    set +e
    compose down -v >/dev/null 2>&1
    if [ -f "$work/kube/plays.txt" ]; then
        while read -r file _ _; do podman kube down "$file" >/dev/null 2>&1; done < "$work/kube/plays.txt"
        xargs -r podman volume rm -f < "$work/kube/claims.txt" >/dev/null 2>&1
    fi
    podman network rm -f "$PROJECT-kube" "${PROJECT}_default" >/dev/null 2>&1
    rm -rf "$work"
}
trap teardown EXIT

# Without the dnsname CNI plugin the containers cannot resolve each other's service names
# (the workers fail with "redis: Name or service not known"): refuse before building.
if [ "$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)" = cni ] \
        && [ ! -x /usr/lib/cni/dnsname ]; then
    echo "container_smoke: podman's CNI network has no dnsname plugin;" \
         "apt-get install golang-github-containernetworking-plugin-dnsname" >&2
    exit 2
fi
# `podman kube play` builds its pods' pause image around catatonit.
command -v catatonit >/dev/null 2>&1 || {
    echo "container_smoke: no catatonit (podman kube play needs it); apt-get install catatonit" >&2
    exit 2
}

say "images (local bases from this machine's Debian mirror; pip settings read from pip config)"
t0=$(now)
scripts/container_images.sh
figure "image build: $(since "$t0") s (cached layers are reused)"
for image in certify-api:local certify-worker:local certify-redis:bookworm; do
    figure "image $image: $(podman image inspect --format '{{.Size}}' "localhost/$image" \
        | awk '{ printf "%.0f MB", $1 / 1e6 }')"
done

say "signing keys: an Ed25519 key folder made by the API image, mounted as a secret"
scripts/signing_keys.sh "$work/keys" localhost/certify-api:local

export CERTIFY_VERSION=local CERTIFY_REDIS_IMAGE=localhost/certify-redis:bookworm
export CERTIFY_REDIS_PASSWORD=$(openssl rand -hex 24) CERTIFY_API_KEYS=$KEY
export CERTIFY_ADMIN_API_KEYS=$ADMIN_KEY
export CERTIFY_API_PORT=$API_PORT CERTIFY_SIGNING_KEYS_HOST_DIR=$work/keys
export CERTIFY_WORKER_MODELS=fmnist-cnn-s025,moving-fmnist-c2d-s025 CERTIFY_CPU_WORKER_REPLICAS=1
URL=http://127.0.0.1:$API_PORT

say "compose: docker-compose.yml + docker-compose.cpu.yml under podman-compose"
t0=$(now)
compose up -d >"$work/compose-up.log" 2>&1 || { cat "$work/compose-up.log"; exit 1; }
healthy "${PROJECT}_redis_1 ${PROJECT}_api_1 ${PROJECT}_webhooks_1 $(workers)" 300
smoke "$URL" "$KEY" wait-ready 120
figure "compose: healthy and ready $(since "$t0") s after up"

say "an image and a video, and the same counts as \`certify local --seed\` on this host"
smoke "$URL" "$KEY" certify "$SAMPLES/fmnist-ankle-boot.png" --n 1000 --n0 50 > "$work/image.json"
smoke "$URL" "$KEY" same-as-local "$work/image.json" "$SAMPLES/fmnist-ankle-boot.png"
smoke "$URL" "$KEY" certify "$SAMPLES/moving-fmnist-trouser.mp4" --n 100 --n0 20 > "$work/video.json"
smoke "$URL" "$KEY" same-as-local "$work/video.json" "$SAMPLES/moving-fmnist-trouser.mp4"

say "a model registered over HTTP certifies with no restart (the store on the shared volume)"
registered=$(smoke "$URL" "$KEY" registry "$ADMIN_KEY" "$SAMPLES/fmnist-ankle-boot.png" --n 200)
figure "registry: $registered"

say "a batch with one worker"
one=$(smoke "$URL" "$KEY" batch "$SAMPLES/fmnist-ankle-boot.png" 16 --n 500 --n0 20)
figure "1 worker: $one"

say "Redis restarted with jobs queued: the append-only file keeps them"
smoke "$URL" "$KEY" batch "$SAMPLES/fmnist-trouser.jpg" 8 --n 500 --n0 20 > "$work/restart.json" &
batch_pid=$!
sleep 4  # the jobs are queued and more than the 1 s of everysec fsync old
podman restart "${PROJECT}_redis_1" >/dev/null
healthy "${PROJECT}_redis_1" 60
wait "$batch_pid"
figure "after a Redis restart: $(cat "$work/restart.json")"

say "two workers: both take jobs"
export CERTIFY_CPU_WORKER_REPLICAS=2
compose up -d >"$work/compose-scale.log" 2>&1 || true  # existing containers are kept
healthy "$(workers)" 300
[ "$(workers | wc -l)" -eq 2 ] || { echo "expected 2 workers, got: $(workers)"; exit 1; }
declare -A before
for name in $(workers); do before[$name]=$(started_jobs "$name"); done
two=$(smoke "$URL" "$KEY" batch "$SAMPLES/fmnist-ankle-boot.png" 16 --n 500 --n0 20)
figure "2 workers: $two"
for name in $(workers); do
    took=$(( $(started_jobs "$name") - ${before[$name]:-0} ))
    figure "  $name took $took jobs"
    [ "$took" -gt 0 ] || { echo "$name took no job"; exit 1; }
done

say "a worker killed mid-job: the job still ends"
"$PY" - "$URL" "$KEY" "$SAMPLES/fmnist-ankle-boot.png" > "$work/killed.json" <<'PYEOF' &
import json, sys, time, httpx
url, key, path = sys.argv[1:]
with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
    with open(path, "rb") as file:
        job = client.post("/certify", files={"file": file}, data={"n": "20000", "n0": "20"}).json()
    print(job["job_id"], file=sys.stderr, flush=True)
    while (view := client.get(f"/jobs/{job['job_id']}").json())["status"] not in (
            "succeeded", "failed", "canceled"):
        time.sleep(1)
print(json.dumps({"status": view["status"], "attempts": view["attempts"],
                  "error": (view.get("error") or {}).get("error")}))
PYEOF
killed_pid=$!
victim=""
for _ in $(seq 120); do
    for name in $(workers); do
        if podman logs "$name" 2>&1 | grep '"event": *"job_started"' | grep -q '"n": *20000'; then
            victim=$name; break 2
        fi
    done
    sleep 1
done
[ -n "$victim" ] || { echo "the long job never started"; exit 1; }
podman kill "$victim" >/dev/null
t0=$(now)
wait "$killed_pid"
figure "killed $victim mid-job: $(cat "$work/killed.json"), ended $(since "$t0") s after the kill"
grep -q '"status": "succeeded"\|"error": "worker_lost"' "$work/killed.json"
compose down -v >/dev/null 2>&1

say "Kubernetes manifests under podman kube play"
"$PY" scripts/k8s_secrets.py --redis-password "$CERTIFY_REDIS_PASSWORD" --api-keys "$KEY" \
    --admin-api-keys "$ADMIN_KEY" \
    --signing-keys "$work/keys" > "$work/secrets.yaml"
"$PY" scripts/podman_kube.py "$work/kube" "$work/secrets.yaml" deploy/k8s/storage.yaml \
    deploy/k8s/redis.yaml deploy/k8s/api.yaml deploy/k8s/webhooks.yaml deploy/k8s/worker-cpu.yaml \
    --image redis:7.2-alpine=localhost/certify-redis:bookworm \
    --image certify-api:latest=localhost/certify-api:local \
    --image certify-worker:latest=localhost/certify-worker:local --publish "certify-api=$KUBE_PORT"
chown -R 10001:10001 "$work/kube/secrets"
podman network create "$PROJECT-kube" >/dev/null
while read -r claim; do podman volume create "$claim" >/dev/null; done < "$work/kube/claims.txt"
t0=$(now)
while read -r file alias _; do
    network=$PROJECT-kube
    [ "$alias" = - ] || network="$network:alias=$alias"
    podman kube play --network "$network" "$file" >/dev/null
done < "$work/kube/plays.txt"
smoke "http://127.0.0.1:$KUBE_PORT" "$KEY" wait-ready 300
healthy "$(podman ps --format '{{.Names}} {{.Pod}}' | awk '$2 != "" && $1 !~ /-infra$/ { print $1 }')" 120
figure "kube play: ready $(since "$t0") s after play"
smoke "http://127.0.0.1:$KUBE_PORT" "$KEY" certify "$SAMPLES/fmnist-ankle-boot.png" --n 1000 --n0 50 \
    > "$work/kube-image.json"
smoke "http://127.0.0.1:$KUBE_PORT" "$KEY" same-as-local "$work/kube-image.json" \
    "$SAMPLES/fmnist-ankle-boot.png"
figure "kube registry: $(smoke "http://127.0.0.1:$KUBE_PORT" "$KEY" registry "$ADMIN_KEY" \
    "$SAMPLES/fmnist-ankle-boot.png" --n 200)"

say "figures"
cat "$figures"
echo "container smoke test passed"
