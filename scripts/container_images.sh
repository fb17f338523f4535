#!/usr/bin/env bash
# Builds the API image and the CPU worker image with podman, on the local bases of
# scripts/container_bases.sh, reaching the package indexes the way this machine's pip does:
# its CA bundle, local wheel folders and local indexes are read from `pip config list` when
# this runs, mounted into the build and passed as PIP_* build arguments (never committed).
#   scripts/container_images.sh            # certify-api:local, certify-worker:local (CPU torch)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PODMAN=${PODMAN:-podman}
PIP=${PIP:-pip3}
API_IMAGE=${CERTIFY_API_IMAGE:-localhost/certify-api:local}
WORKER_IMAGE=${CERTIFY_WORKER_IMAGE:-localhost/certify-worker:local}
eval "$("$here/scripts/container_bases.sh")"

pip_value() {  # the effective value of one pip option: environment first, then config files
    local key=$1
    $PIP config list 2>/dev/null | awk -F= -v k="$key" '
        { name = $1; sub(/^[^.]*\./, "", name); value = substr($0, length($1) + 2) }
        name == k { gsub(/^'\''|'\''$/, "", value); if ($1 ~ /^:env:/) env = value; else conf = value }
        END { print (env != "" ? env : conf) }'
}

build_args=(--network host --format docker)  # docker format keeps HEALTHCHECK
cert=$(pip_value cert)
if [ -n "$cert" ]; then
    build_args+=(-v "$cert:/run/certify-build/ca.crt:ro" --build-arg PIP_CERT=/run/certify-build/ca.crt)
fi
for key in find-links extra-index-url index-url; do
    value=$(pip_value "$key")
    [ -n "$value" ] || continue
    for item in $value; do  # local folders and indexes: mounted at the same path
        path=${item#file://}
        [ "$key" = find-links ] || path=$(dirname "$path")  # index pages link to files beside them
        [ -d "$path" ] && build_args+=(-v "$path:$path:ro")
    done
    build_args+=(--build-arg "PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')=$value")
done

# The CPU torch build this machine's pip finds in its wheel folders; without one, the
# Dockerfile's default (the CUDA build from PyPI, which also runs on a CPU). No torchvision
# with it: PyPI's torchvision wheels are CUDA builds that fail to load beside a CPU torch, and
# only the ResNet-50 reference and torchvision's video networks need it (the `vision` extra).
torch_args=()
torch_wheel=$(for item in $(pip_value find-links); do ls "${item#file://}"/torch-*+cpu-*.whl 2>/dev/null; done \
              | sort -V | tail -1)
if [ -n "$torch_wheel" ]; then
    torch_args=(--build-arg "TORCH=torch==$(basename "$torch_wheel" | cut -d- -f2)")
fi

cd "$here"
nice -n 10 $PODMAN build "${build_args[@]}" --build-arg "PYTHON_BASE=$CERTIFY_PYTHON_BASE_IMAGE" \
    -f docker/api.Dockerfile -t "$API_IMAGE" .
nice -n 10 $PODMAN build "${build_args[@]}" --build-arg "CUDA_BASE=$CERTIFY_PYTHON_BASE_IMAGE" \
    "${torch_args[@]}" -f docker/worker.Dockerfile -t "$WORKER_IMAGE" .
