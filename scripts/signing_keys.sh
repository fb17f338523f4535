#!/usr/bin/env bash
# Makes the Ed25519 signing-key folder the services mount as a secret (compose: `signing-keys`,
# Kubernetes: certify-signing-keys), with the API image, owned by the images' user (uid 10001).
#   scripts/signing_keys.sh secrets/signing-keys [IMAGE]     # prints the key id
# An existing key is kept (rotation: docs/DEPLOY.md).
set -euo pipefail
folder=$1
image=${2:-certify-api:${CERTIFY_VERSION:-latest}}
engine=$(command -v podman || command -v docker)
mkdir -p "$folder"
chown 10001:10001 "$folder"
chmod 0700 "$folder"
"$engine" run --rm --no-healthcheck --user 10001:10001 -v "$(cd "$folder" && pwd):/keys" "$image" python -c \
    "from pathlib import Path; from certify_store.keys import KeyRing; print(KeyRing(Path('/keys')).signing_key()[0])"
