#!/usr/bin/env bash
# Local stand-ins for the base images the Dockerfiles and compose file name, for hosts
# that reach no image registry: a Debian bookworm rootfs made with debootstrap from the
# Debian mirror this machine's apt already uses, imported into podman, and Redis on it.
#   scripts/container_bases.sh            # builds what is missing
# Prints the image names to pass as build arguments (see docs/DEPLOY.md).
set -euo pipefail

PYTHON_BASE=${CERTIFY_PYTHON_BASE_IMAGE:-localhost/certify-debian-python:bookworm}
REDIS_IMAGE=${CERTIFY_REDIS_IMAGE:-localhost/certify-redis:bookworm}
PODMAN=${PODMAN:-podman}
here=$(cd "$(dirname "$0")/.." && pwd)

debian_mirror() {
    # The mirror apt uses for bookworm's main component, read from apt's own view.
    apt-cache policy | awk '$3 == "bookworm/main" && $5 == "Packages" { print $2; exit }'
}

have_image() { $PODMAN image exists "$1"; }

if ! have_image "$PYTHON_BASE"; then
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || { echo "no bookworm mirror in the apt configuration" >&2; exit 1; }
    rootfs=$(mktemp -d /var/tmp/certify-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    nice -n 10 debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
    # What a service image never reads: apt lists and caches, documentation, translations.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | $PODMAN import \
        --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' - "$PYTHON_BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

if ! have_image "$REDIS_IMAGE"; then
    nice -n 10 $PODMAN build --network host --format docker --build-arg "BASE=$PYTHON_BASE" \
        -f "$here/deploy/podman/redis.Dockerfile" -t "$REDIS_IMAGE" "$here/deploy/podman" >/dev/null
fi

echo "CERTIFY_PYTHON_BASE_IMAGE=$PYTHON_BASE"
echo "CERTIFY_REDIS_IMAGE=$REDIS_IMAGE"
