"""deploy/k8s/ made playable by `podman kube play` (podman 4.3), for the smoke test.

    python scripts/podman_kube.py OUT secrets.yaml deploy/k8s/{storage,redis,api,...}.yaml \\
        --image certify-api:latest=localhost/certify-api:local --publish certify-api=18000

podman kube play runs Pods, Deployments (a pod per replica) and PersistentVolumeClaims
and skips every other kind. What this changes, and only this:

- Service: skipped by podman; each workload a Service selects joins the network
  with the Service's name as an alias (`podman kube play --network NET:alias=NAME`),
  so `redis:6379` resolves as in a cluster. `--publish NAME=PORT` maps a Service's
  first port to the host, as `kubectl port-forward` would (one replica: a host
  port binds once); podman 4.3 would bind
  every other containerPort on the host too, so those are left out (probes
  naming a port get its number).
- StatefulSet: not run by podman; played as a Deployment of the same pod template,
  with each volumeClaimTemplate as a claim named as Kubernetes names it (data-redis-0).
- Secret consumers: podman 4.3 misreads `secretKeyRef` and crashes on `secret`
  volumes, so env values are filled in from secrets.yaml and secret volumes become
  host folders holding the secret's files (OUT/secrets/NAME).
- Images: `--image FROM=TO` for locally built images.
- Probes: podman 4.3 joins an exec probe's words into one shell line and runs an
  httpGet probe with curl (absent from these images); each becomes the one shell
  line that means the same (`sh -c X` becomes X; httpGet a Python urllib call).
Anything else (resources, securityContext) is passed as written.
Writes OUT/NN-NAME.yaml per workload, OUT/claims.txt and OUT/plays.txt (file, alias, port).
"""

import argparse
import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]


def load(paths: list[Path]) -> list[Doc]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def secret_values(docs: list[Doc]) -> dict[str, dict[str, bytes]]:
    found = {}
    for doc in docs:
        if doc.get("kind") == "Secret":
            data = {k: base64.b64decode(v) for k, v in (doc.get("data") or {}).items()}
            data |= {k: v.encode() for k, v in (doc.get("stringData") or {}).items()}
            found[doc["metadata"]["name"]] = data
    return found


def fill_env(container: Doc, secrets: dict[str, dict[str, bytes]]) -> None:
    env = []
    for item in container.get("env", []):
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            env.append(item)
            continue
        value = secrets.get(ref["name"], {}).get(ref["key"])
        if value is None:
            if ref.get("optional"):
                continue
            raise SystemExit(f"secret {ref['name']}/{ref['key']} is not in the secrets file")
        env.append({"name": item["name"], "value": value.decode()})
    container["env"] = env


def secret_folders(spec: Doc, secrets: dict[str, dict[str, bytes]], out: Path) -> None:
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            source = volume.pop("secret")
            name, volume_mode = source["secretName"], source.get("defaultMode", 0o644)
            folder = out / "secrets" / name
            folder.mkdir(parents=True, exist_ok=True)
            for key, value in secrets[name].items():
                (folder / key).write_bytes(value)
                (folder / key).chmod(volume_mode)
            volume["hostPath"] = {"path": str(folder.resolve()), "type": "Directory"}


def as_deployment(doc: Doc) -> tuple[Doc, list[str]]:
    if doc["kind"] != "StatefulSet":
        return doc, []
    name = doc["metadata"]["name"]
    spec = copy.deepcopy(doc["spec"])
    claims = [f"{t['metadata']['name']}-{name}-0" for t in spec.pop("volumeClaimTemplates", [])]
    spec.pop("serviceName", None)
    volumes = spec["template"]["spec"].setdefault("volumes", [])
    for claim in claims:
        template_name = claim.removesuffix(f"-{name}-0")
        volumes.append({"name": template_name, "persistentVolumeClaim": {"claimName": claim}})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": doc["metadata"],
            "spec": spec}, claims


def unpublish(container: Doc) -> None:
    """podman 4.3 binds every containerPort on the host: keep only ports given a hostPort."""
    numbers = {item["name"]: item["containerPort"] for item in container.get("ports", [])
               if "name" in item}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        action = (container.get(probe) or {}).get("httpGet")
        if action is not None:
            action["port"] = numbers.get(action["port"], action["port"])
    kept = [item for item in container.get("ports", []) if "hostPort" in item]
    if kept:
        container["ports"] = kept
    else:
        container.pop("ports", None)


def probes_as_podman_runs_them(container: Doc) -> None:
    """podman 4.3 makes a probe a shell health check by joining its words with spaces, and an
    httpGet probe a `curl` (not in these images): give it one shell line that means the same."""
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = container.get(probe)
        if not spec:
            continue
        if "httpGet" in spec:
            get = spec.pop("httpGet")
            url = f"http://127.0.0.1:{get['port']}{get.get('path', '/')}"
            spec["exec"] = {"command": [
                f"python -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=4)\""]}
        command = spec["exec"]["command"]
        if command[:2] == ["sh", "-c"]:
            spec["exec"]["command"] = [command[2]]


def selects(service: Doc, labels: dict[str, str]) -> bool:
    selector = service["spec"].get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("manifests", type=Path, nargs="+", help="secrets first, then the rest")
    parser.add_argument("--image", action="append", default=[], help="FROM=TO")
    parser.add_argument("--publish", action="append", default=[], help="SERVICE=HOSTPORT")
    args = parser.parse_args()
    images = dict(item.split("=", 1) for item in args.image)
    published = dict(item.split("=", 1) for item in args.publish)
    docs = load(args.manifests)
    secrets = secret_values(docs)
    services = [doc for doc in docs if doc["kind"] == "Service"]
    args.out.mkdir(parents=True, exist_ok=True)
    claims = [doc["metadata"]["name"] for doc in docs if doc["kind"] == "PersistentVolumeClaim"]
    plays = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Pod"):
            continue
        doc, own_claims = as_deployment(copy.deepcopy(doc))
        claims += own_claims
        template = doc["spec"]["template"]
        pod = template["spec"]
        for container in pod["containers"]:
            container["image"] = images.get(container["image"], container["image"])
            fill_env(container, secrets)
        secret_folders(pod, secrets, args.out)
        alias, port = "-", "-"
        for service in services:
            if selects(service, template["metadata"].get("labels", {})):
                alias = service["metadata"]["name"]
                if alias in published:
                    port = published[alias]
                    doc["spec"]["replicas"] = 1  # a host port binds once
                    target = service["spec"]["ports"][0]["targetPort"]
                    for container in pod["containers"]:
                        for item in container.get("ports", []):
                            if target in (item.get("name"), item["containerPort"]):
                                item["hostPort"] = int(port)
        for container in pod["containers"]:
            unpublish(container)
            probes_as_podman_runs_them(container)
        path = args.out / f"{len(plays):02d}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        plays.append(f"{path} {alias} {port}")
    (args.out / "claims.txt").write_text("".join(f"{claim}\n" for claim in claims))
    (args.out / "plays.txt").write_text("".join(f"{play}\n" for play in plays))


if __name__ == "__main__":
    main()
