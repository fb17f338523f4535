"""The Secrets deploy/k8s/ reads, as a manifest on stdout (`kubectl apply -f -`).

    python scripts/k8s_secrets.py --redis-password PW --api-keys KEY1,KEY2 \\
        --signing-keys secrets/signing-keys [--webhook-secret S] > secrets.yaml

certify-redis (password, and the URL the services use), certify-api-keys (keys,
admin-keys), certify-signing-keys (every file of the key folder), and
certify-webhooks when a webhook secret is given. Standard library only.
"""

import argparse
import base64
import json
from pathlib import Path


def secret(name: str, data: dict[str, bytes]) -> dict[str, object]:
    encoded = {key: base64.b64encode(value).decode() for key, value in sorted(data.items())}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "certify"}},
            "data": encoded}


def secrets(args: argparse.Namespace) -> list[dict[str, object]]:
    url = f"redis://:{args.redis_password}@{args.redis_host}:6379/0"
    keys = {path.name: path.read_bytes() for path in sorted(args.signing_keys.iterdir())
            if path.is_file() and not path.name.startswith(".")}
    if not keys:
        raise SystemExit(f"{args.signing_keys} holds no key files (docs/DEPLOY.md, 'Signing keys')")
    found = [secret("certify-redis", {"password": args.redis_password.encode(), "url": url.encode()}),
             secret("certify-api-keys", {"keys": args.api_keys.encode(),
                                         "admin-keys": args.admin_api_keys.encode()}),
             secret("certify-signing-keys", keys)]
    if args.webhook_secret:
        found.append(secret("certify-webhooks", {"secret": args.webhook_secret.encode()}))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis-password", required=True)
    parser.add_argument("--redis-host", default="redis", help="the Redis Service's name")
    parser.add_argument("--api-keys", required=True, help="comma-separated API keys")
    parser.add_argument("--admin-api-keys", default="", help="comma-separated operator keys")
    parser.add_argument("--signing-keys", type=Path, required=True, help="the key folder")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args()
    # JSON documents are YAML documents: kubectl and podman read them as they are.
    print("\n---\n".join(json.dumps(doc, indent=1) for doc in secrets(args)))


if __name__ == "__main__":
    main()
