"""`certify verify`, `certify db`, `certify uploads` and `certify keys`: the record store's commands.

`verify` needs neither torch nor a server: it checks a signed certificate
against a key file (or the keys a service publishes) and an input file; only
`--recompute` loads the library, to re-run the certification from the record.
"""

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from certify_cli.errors import CommandError
from certify_settings import Settings

KEYS_PATH = "/.well-known/certify-keys"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    verify = subparsers.add_parser(
        "verify", help="check a signed certificate or gate report: signature, input file, "
        "optionally a re-run")
    verify.add_argument("file", type=Path, metavar="FILE",
                        help="the signed certificate (GET /jobs/{id}/certificate) or gate report "
                        "(GET /gates/{id}/report)")
    verify.add_argument("--input", type=Path, default=None,
                        help="the certified upload: its sha256 must be the signed one (default: the input is "
                        "not checked)")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--key", type=Path, default=None,
                        help="public key file: a .pub.json, the service's key list, or PEM "
                        "(default: the keys in CERTIFY_SIGNING_KEYS_DIR or the data directory)")
    source.add_argument("--service", default=None, metavar="URL",
                        help=f"fetch the service's published keys ({KEYS_PATH}) (default: the local keys)")
    verify.add_argument("--recompute", action="store_true",
                        help="re-run the certification (needs --input and the model; loads torch) "
                        "and require the same counts and radius")
    verify.set_defaults(handler=run_verify)

    db = subparsers.add_parser("db", help="the record database: migrate, back up, restore")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION",
                                help="migrate, backup or restore")
    actions.add_parser("migrate", help="bring the schema to the latest revision").set_defaults(
        handler=run_migrate)
    for name, verb in (("backup", "write a backup to"), ("restore", "replace every record from")):
        action = actions.add_parser(name, help=f"{verb} PATH (SQLite: online backup; "
                                    "PostgreSQL: pg_dump's custom format)")
        action.add_argument("path", type=Path, metavar="PATH")
        action.set_defaults(handler=run_backup if name == "backup" else run_restore)

    uploads = subparsers.add_parser("uploads", help="stored uploads")
    upload_actions = uploads.add_subparsers(dest="uploads_command", required=True, metavar="ACTION",
                                            help="prune")
    prune = upload_actions.add_parser("prune", help="delete uploads unused for longer than the "
                                      "retention (CERTIFY_UPLOAD_RETENTION)")
    prune.add_argument("--retention", type=int, default=None, metavar="SECONDS",
                       help="override the setting for this run (default: CERTIFY_UPLOAD_RETENTION)")
    prune.set_defaults(handler=run_prune)

    keys = subparsers.add_parser("keys", help="the signing keys")
    key_actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION",
                                      help="list or rotate")
    key_actions.add_parser("list", help="print the public keys (as GET /.well-known/certify-keys)"
                           ).set_defaults(handler=run_keys_list)
    key_actions.add_parser("rotate", help="make a new signing key; old public keys stay "
                           "published").set_defaults(handler=run_keys_rotate)


def store_locations(settings: Settings) -> Any:
    from certify_store.locations import StoreLocations

    return StoreLocations(settings.data_dir_or_default, settings.database_url,
                          settings.signing_keys_dir)


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.signatures import GATE_FORMAT, verify

    try:
        document = json.loads(args.file.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read {args.file} as JSON: {exc}") from None
    input_sha256 = None
    if args.input is not None:
        if not args.input.is_file():
            raise CommandError(f"No such file: {args.input}")
        input_sha256 = hashlib.sha256(args.input.read_bytes()).hexdigest()
    verdict = verify(document, _public_keys(args, settings), input_sha256)
    problems = list(verdict.problems)
    gate = document.get("format") == GATE_FORMAT
    if gate and not problems:  # the verdict must follow from the images the report lists
        from certify_contract.gate_rule import recheck_report

        problems = recheck_report(document["payload"])
    if not problems and args.recompute:
        if gate:
            raise CommandError("--recompute re-runs a certificate; a gate report names its images' "
                               "jobs: verify their certificates one by one.")
        if args.input is None:
            raise CommandError("--recompute needs --input (the certified upload).")
        from certify_cli.recompute import recompute_problems

        problems = recompute_problems(document["payload"], args.input.read_bytes(), settings)
    if problems:
        for problem in problems:
            print(f"certify verify: {args.file}: {problem}")
        return 1
    payload = document["payload"]
    checks = ["signature"] + (["verdict from its images"] if gate else []) \
        + (["input"] if input_sha256 else []) + (["re-run"] if args.recompute else [])
    subject = (f"gate {payload.get('gate_id')} ({(payload.get('verdict') or {}).get('verdict')})"
               if gate else f"job {payload.get('job_id')}")
    print(f"{args.file}: valid ({', '.join(checks)}): {subject}, signed by "
          f"{verdict.key_id} at {payload.get('issued_at')}")
    return 0


def _public_keys(args: argparse.Namespace, settings: Settings) -> Any:
    from certify_store.keys import KeyFileError, KeyRing, read_public_keys

    try:
        if args.service is not None:
            return read_public_keys(_fetch_keys(args.service))
        if args.key is not None:
            return read_public_keys(args.key.read_text())
        return KeyRing(store_locations(settings).signing_keys_dir).public_keys()
    except (OSError, KeyFileError) as exc:
        raise CommandError(f"Cannot read the public keys: {exc}") from None


def _fetch_keys(service: str) -> str:
    import httpx

    try:
        answer = httpx.get(service.rstrip("/") + KEYS_PATH, timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise CommandError(f"Cannot fetch the keys from {service}: {exc}") from None
    return answer.text


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.database import create_engine, current_revision, migrate

    engine = create_engine(store_locations(settings).url)
    before = current_revision(engine)
    after = migrate(engine)
    print(f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else ""))
    return 0


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.backup import BackupError, backup

    try:
        backup(store_locations(settings).url, args.path)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"backup written to {args.path} ({args.path.stat().st_size:,} bytes)")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.backup import BackupError, restore

    try:
        restore(store_locations(settings).url, args.path)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"records restored from {args.path}")
    return 0


def run_prune(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.blobs import BlobStore

    retention = settings.upload_retention if args.retention is None else args.retention
    if retention < 0:
        raise CommandError(f"Expected --retention >= 0, got {retention}.")
    report = BlobStore(store_locations(settings).uploads_dir).prune(retention)
    print(f"deleted {report.deleted} uploads ({report.deleted_bytes:,} bytes) unused for "
          f"{retention} s or more; kept {report.kept}")
    return 0


def run_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.keys import KeyRing

    ring = KeyRing(store_locations(settings).signing_keys_dir)
    print(json.dumps({"keys": [key.to_dict() for key in ring.public_keys()]}, indent=2))
    return 0


def run_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from certify_store.keys import KeyRing

    key_id, _ = KeyRing(store_locations(settings).signing_keys_dir).rotate()
    print(f"signing with {key_id}; earlier keys stay published for verification")
    return 0
