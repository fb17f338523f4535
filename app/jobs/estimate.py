"""`GET /estimate`: how long a job would sample, before it is submitted.

Applies `certify_contract.throughput` (the one statement of the formula) to the
options, the model's manifest and the rate its live workers published; the
dashboard shows this answer as the options change.
"""

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from pydantic import Field, create_model

from app.http.deps import BackendDep, CallerDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.jobs.form import ModelOptionsBase, option_fields
from app.jobs.submission import served_model
from app.models.served import ServedModelsDep
from app.registry.store import ModelRegistryDep
from certify_contract import InvalidOptionError, JobEstimate, MediaKind
from certify_contract.throughput import (
    combined_throughput,
    pass_range,
    passes_per_sample,
    requested_arithmetic,
    seconds_for,
)
from certify_jobs import fair_queue

router = APIRouter()


class EstimateQueryBase(ModelOptionsBase):
    media: MediaKind = Field(default="image", description="The kind of the file to certify, "
                             "which picks the default model when `model` is not given.")


if TYPE_CHECKING:
    EstimateQuery = EstimateQueryBase
else:
    EstimateQuery = create_model("EstimateQuery", __base__=EstimateQueryBase, **option_fields())


@router.get("/estimate", response_model=JobEstimate, responses=ERROR_RESPONSES, tags=["models"])
def estimate(query: Annotated[EstimateQuery, Query()], models: ServedModelsDep,
             registry: ModelRegistryDep, backend: BackendDep, caller: CallerDep) -> JobEstimate:
    """The passes a job with these options would run and, from the model's measured passes
    per second, its sampling time; the same checks as `POST /certify` (model, options)."""
    served = models.recently()
    kind = served[query.model].info.kind if query.model in served else query.media
    options = query.options()
    model = served_model(models, query.model, options, kind, registry, caller)
    shape = model.info.manifest.get("input_shape")
    if not isinstance(shape, list):
        raise ApiError(422, "invalid_option", f"Model {model.info.name!r} declares no input shape.",
                       field="model")
    try:
        per_sample = passes_per_sample(options, kind, shape)
        passes_min, passes_max = pass_range(options, kind, shape)
    except InvalidOptionError as exc:
        raise ApiError(422, exc.code, exc.detail, field=exc.field) from None
    precision, compile_mode = requested_arithmetic(options, model.info.manifest)
    throughput = model.info.throughput if model.source is None else combined_throughput(
        [figure for held in registry.holders().get(model.info.name, [])
         for figure in held.get("measured", [])])
    rate = next((t.passes_per_s for t in throughput
                 if (t.precision, t.compile) == (precision, compile_mode)), None)
    # Ahead of a new job: those handed to the queue, and this caller's own backlog (other
    # tenants' waiting jobs take turns with it, so they are not all ahead).
    queued = backend.queue.count + fair_queue.backlog_depth(backend.redis, backend.queue.name,
                                                            caller.principal)
    return JobEstimate(
        model=model.info.name, precision=precision, compile=compile_mode,
        passes_per_sample=per_sample, passes_min=passes_min,
        passes_max=passes_max, passes_per_s=rate, seconds_min=seconds_for(passes_min, rate),
        seconds_max=seconds_for(passes_max, rate), queued_jobs=queued)
