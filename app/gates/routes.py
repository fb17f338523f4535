"""Release gates: `POST /gates` answers 202 at once; the gate runs its images as ordinary
decision-mode jobs, look by look, and ends with a verdict (docs/GATES.md)."""

import json
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response, status
from pydantic import Field, create_model
from sqlalchemy.exc import SQLAlchemyError

from app.batches.files import FileLimits, NamedFile
from app.batches.intake import BatchFormBase, parse_labels, read_files, sniffed
from app.gates.advance import GATE_HOLDER, advance, cancel
from app.gates.store import GateSpec, GateStore, gate_not_found, gate_rule_of
from app.gates.views import VIEW, gate_view
from app.http.callbacks import checked_callback
from app.http.deps import Caller, CallerDep, SettingsDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.http.idempotency import IdempotencyDep, IdempotencyKey
from app.jobs.form import option_fields
from app.jobs.queue import JobQueueDep
from app.jobs.submission import served_model
from app.models.served import ServedModelsDep
from app.registry.store import ModelRegistryDep
from certify_contract import ErrorBody, GateList, GateView, InvalidOptionError
from certify_store.records import GateRecord

router = APIRouter(tags=["gates"])
GATE_ID = re.compile(r"^[0-9a-f]{32}$")


class GateFormBase(BatchFormBase):
    min_accuracy: float = Field(gt=0.0, lt=1.0, description="The threshold A: the gate passes "
                                "when certified accuracy at `radius` >= A is shown.")
    confidence: float = Field(default=0.99, gt=0.0, lt=1.0,
                              description="1 - delta: the probability that a pass is right.")


if TYPE_CHECKING:
    GateForm = GateFormBase
else:
    GateForm = create_model("GateForm", __base__=GateFormBase, **option_fields())


async def get_gates(request: Request) -> GateStore:
    return GateStore(request.app.state.backend)


GatesDep = Annotated[GateStore, Depends(get_gates)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {404: "Unknown gate id (or another key's gate).",
                 409: "A request with this Idempotency-Key is still being handled.",
                 413: "Too many files, or a file or the body over its limit.",
                 415: "A file is not a supported image.",
                 422: "Invalid option, labels, archive, model or gate request.",
                 429: "Over this API key's queued jobs or hourly samples (Retry-After)."}
    return {**ERROR_RESPONSES, **{c: {"model": ErrorBody, "description": described[c]}
                                  for c in codes}}


def _invalid(detail: str, field: str) -> ApiError:
    return ApiError(422, "invalid_gate", detail, field=field)


@router.post("/gates", status_code=status.HTTP_202_ACCEPTED, response_model=GateView,
             responses=_errors(409, 413, 415, 422, 429))
def create_gate(response: Response, gates: GatesDep, queue: JobQueueDep, models: ServedModelsDep,
                registry: ModelRegistryDep, idempotency: IdempotencyDep, settings: SettingsDep,
                caller: CallerDep, form: Annotated[GateForm, Form()],
                idempotency_key: IdempotencyKey = None) -> GateView:
    """Start a release gate over a labelled image set; answers at once, ends with a verdict.
    Retried with the same `Idempotency-Key`, it answers with the first request's gate."""
    options = form.options()
    if options.radius is None:
        raise _invalid("A gate runs decision-mode jobs: set `radius` (the R of the gate).",
                       "radius")
    callback = checked_callback(settings, form.callback_url)
    limits = replace(FileLimits.from_settings(settings), max_files=settings.gate_max_images,
                     too_many_hint="a gate draws its images from at most this many")
    files = read_files(form.file, settings, limits)
    media_types, kind = sniffed(files)
    if kind != "image":
        raise _invalid("A gate's data set holds images.", "file")
    model = served_model(models, form.model, options, "image", registry, caller)
    labels = parse_labels(form.labels, [f.name for f in files], model)
    unlabeled = [f.name for f in files if f.name not in labels]
    if unlabeled:
        raise _invalid(f"Every image of a gate needs its label; none for {unlabeled[:5]}.", "labels")
    try:
        rule = gate_rule_of(len(files), form.min_accuracy, options, form.confidence)
    except InvalidOptionError as exc:
        raise _invalid(exc.detail, exc.field or "min_accuracy") from None
    gate_id = queue.new_job_id()
    with idempotency.once(caller.principal, "gate", idempotency_key, gate_id,
                          _visible(gates, caller)) as slot:
        if slot.earlier is not None:
            response.headers["Location"] = f"/gates/{slot.earlier}"
            return get_gate(slot.earlier, gates, caller)
        queue.admit(caller.principal, options, rule.looks[0])
        seed = secrets.randbits(62)
        items = _drawn_images(gates, gate_id, caller.principal, seed, files, media_types, labels)
        source = asdict(model.source) if model.source is not None else None
        spec = GateSpec(caller.principal, model.info.name, model.info.sha256, "image", options,
                        form.min_accuracy, form.confidence, len(files), seed,
                        _now(), callback, source)
        gates.create(gate_id, spec, items, slot.claim)
    advance(gates, queue, gate_id)  # the first wave now; the advancer takes it from here
    response.headers["Location"] = f"/gates/{gate_id}"
    return gate_view(gates, gate_id, caller)


def _visible(gates: GateStore, caller: Caller) -> Callable[[str], bool]:
    """Whether a gate id exists for `caller` (a duplicate POST waits for the first's gate)."""

    def visible(gate_id: str) -> bool:
        try:
            get_gate(gate_id, gates, caller)
        except ApiError:
            return False
        return True

    return visible


def _drawn_images(gates: GateStore, gate_id: str, owner: str, seed: int, files: list[NamedFile],
                  media_types: list[str], labels: dict[str, int]) -> list[dict[str, Any]]:
    """The images in the order `seed` draws (by the server: a caller cannot pick easy images
    first), each stored in the blob store, held by the gate until it ends."""
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    items = []
    for index in order:
        named, media_type = files[index], media_types[index]
        key = gates.backend.blobs.put(named.data, GATE_HOLDER.format(gate_id), owner)
        items.append({"index": index, "name": named.name, "label": labels[named.name],
                      "upload_key": key, "sha256": key.rpartition("/")[2], "bytes": len(named.data),
                      "media_type": media_type})
    return items


def _now() -> str:
    from app.gates.advance import now_iso

    return now_iso()


@router.get("/gates/{gate_id}", response_model=GateView, responses=_errors(404))
def get_gate(gate_id: str, gates: GatesDep, caller: CallerDep) -> GateView:
    """Progress per look, images and passes used, the counts against each look's thresholds,
    and the verdict once the gate ends; a gate Redis no longer holds is read from its record."""
    try:
        return gate_view(gates, gate_id, caller)
    except ApiError as missing:
        stored = _stored(gates, gate_id, caller)
        if stored is None:
            raise missing from None
        return VIEW.validate_python(stored.view)


def _stored(gates: GateStore, gate_id: str, caller: Caller) -> GateRecord | None:
    """The gate's record when `caller` may see it; None when there is none (or not theirs)."""
    if not GATE_ID.match(gate_id):
        return None
    try:
        stored = gates.backend.records.gate(gate_id)
    except SQLAlchemyError:
        raise ApiError(503, "records_unavailable", "The record database is unreachable; retry "
                       "shortly.", headers={"Retry-After": "5"}) from None
    return stored if stored is not None and caller.may_see(stored.owner) else None


# The document goes out as stored, never re-serialized: the signature covers its values.
@router.get("/gates/{gate_id}/report", response_class=Response, responses={
    **_errors(404), 409: {"model": ErrorBody, "description": "No report yet: the gate is running, "
                          "or was canceled, or its record is being written."},
    200: {"description": "The signed report (`certify verify FILE` checks it)."}})
def gate_report(gate_id: str, gates: GatesDep, caller: CallerDep) -> Response:
    """The gate's report signed with the service's Ed25519 key: the model's name and sha256,
    the rule, the options, the data set's digest, the image order's seed, every image used
    (its sha256, label, job and outcome) and the verdict."""
    stored = _stored(gates, gate_id, caller)
    if stored is None:
        gate_view(gates, gate_id, caller)  # 404 unless the caller's gate is still in Redis
    if stored is None or stored.signed_report is None:
        raise ApiError(409, "no_report", f"Gate {gate_id} has no signed report yet: it is "
                       "running, was canceled, or its record is being written.",
                       headers={"Retry-After": "1"})
    return Response(json.dumps(stored.signed_report, separators=(",", ":")),
                    media_type="application/json")


@router.delete("/gates/{gate_id}", response_model=GateView, status_code=status.HTTP_202_ACCEPTED,
               responses=_errors(404))
def cancel_gate(gate_id: str, gates: GatesDep, queue: JobQueueDep, caller: CallerDep) -> GateView:
    """Cancel a running gate and its jobs (no verdict); an ended gate is left as it is."""
    gates.load(gate_id, caller)  # 404 for another key's gate
    cancel(gates, queue, gate_id)
    return gate_view(gates, gate_id, caller)


@router.get("/gates", response_model=GateList, responses=ERROR_RESPONSES)
def list_gates(gates: GatesDep, caller: CallerDep,
               offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> GateList:
    """This key's gates (an admin key: everyone's), newest first: live from Redis while it
    holds them, then from their records (a gate outlives its Redis copy, a day after it ends)."""
    owner, wanted = None if caller.admin else caller.principal, offset + limit + 1
    created = dict(gates.newest(owner, wanted))
    try:
        stored = {record.gate_id: record for record in gates.backend.records.gates(owner, wanted)}
    except SQLAlchemyError:  # the database away: the gates Redis holds still list
        stored = {}
    for gate_id, record in stored.items():
        created.setdefault(gate_id, record.created_at.timestamp())
    # Each source holds its newest `wanted`, so the newest `wanted` of both are among them.
    ordered = sorted(created, key=lambda gate_id: (created[gate_id], gate_id), reverse=True)
    views = []
    for gate_id in ordered[offset:offset + limit]:
        try:
            views.append(gate_view(gates, gate_id, caller))
        except ApiError:  # gone from Redis: its record, when there is one
            if gate_id in stored:
                views.append(VIEW.validate_python(stored[gate_id].view))
    more = len(ordered) > offset + limit
    return GateList(gates=views, offset=offset, limit=limit,
                    next_offset=offset + limit if more else None)


__all__ = ["gate_not_found", "router"]
