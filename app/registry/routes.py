"""Registering, reading and deleting models over HTTP (the list is `GET /models`)."""

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.http.deps import Caller, CallerDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.registry.store import ModelRegistry, ModelRegistryDep, model_not_found, registered_model
from certify_contract import ErrorBody, ModelVersions, RegisteredModel, split_model_ref

router = APIRouter()

MANIFEST_MAX_BYTES = 1024 * 1024
DESCRIBED = {
    400: "Malformed multipart body, or a delete that names no version.",
    403: "CERTIFY_MODEL_UPLOADS does not let this key register or delete models.",
    404: "No registered model of this name (or version) this key may see.",
    409: "The version exists, or the name is taken.",
    413: "Weights over CERTIFY_MODEL_MAX_BYTES.",
    415: "Weights that are a pickle, or none of the three formats.",
    422: "A bad manifest, or weights that are not what they claim (truncated, a zip bomb, "
         "another format).",
}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["manifest", "weights"], "properties": {
        "manifest": {"type": "string", "description": "The manifest JSON (a file or a field): "
                     "name, version (optional), format, input_shape, class_names, sigma, "
                     "architecture (safetensors), normalization, ..."},
        "weights": {"type": "string", "format": "binary", "description": "TorchScript, a "
                    "torch.export archive (.pt2) or safetensors; never a pickle."}}}}}}


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {**ERROR_RESPONSES,
            **{code: {"model": ErrorBody, "description": DESCRIBED[code]} for code in codes}}


@router.post("/models", status_code=status.HTTP_201_CREATED, response_model=RegisteredModel,
             responses=_errors(400, 403, 409, 413, 415, 422), tags=["models"],
             openapi_extra={"requestBody": UPLOAD_BODY})
async def register_model(request: Request, caller: CallerDep) -> RegisteredModel:
    """Register a model version; workers load it on first use, with no restart."""
    registry: ModelRegistry = request.app.state.model_registry
    registry.check_may_register(caller)  # before the body is read
    async with request.form(max_files=2, max_fields=2) as fields:
        manifest, weights = fields.get("manifest"), fields.get("weights")
        if not isinstance(weights, UploadFile):
            raise ApiError(422, "invalid_model_manifest", "Send the weights as the file part "
                           "`weights` and the manifest JSON as `manifest`.", field="weights")
        if isinstance(manifest, UploadFile):
            raw = await manifest.read(MANIFEST_MAX_BYTES + 1)
        else:
            raw = str(manifest or "").encode()
        if len(raw) > MANIFEST_MAX_BYTES:
            raise ApiError(422, "invalid_model_manifest", f"The manifest exceeds "
                           f"{MANIFEST_MAX_BYTES} bytes.", field="manifest")
        return await run_in_threadpool(registry.register, raw, weights.file, caller)


@router.get("/models/{name}", response_model=ModelVersions, responses=_errors(404),
            tags=["models"])
def model_versions(name: str, registry: ModelRegistryDep, caller: CallerDep) -> ModelVersions:
    """Every version of a registered model, newest first (the first is its latest)."""
    records = registry.versions(name, caller)
    if not records:
        raise model_not_found(name)
    holders = registry.holders()
    return ModelVersions(name, records[0].version, [
        registered_model(record, index == 0, holders.get(f"{name}@{record.version}", []))
        for index, record in enumerate(records)])


# One path for reading and deleting (`/models/{name}`, the name being `name@version` for a
# delete): two templates would both match `/models/a@1`, and their `Allow` headers disagree.
@router.delete("/models/{name}", response_model=RegisteredModel,
               responses=_errors(400, 403, 404), tags=["models"])
def delete_model(name: str, registry: ModelRegistryDep, caller: CallerDep) -> RegisteredModel:
    """Delete one version, `DELETE /models/{name}@{version}`; jobs already queued for it fail
    (`model_load_failed`) unless a worker still holds it loaded."""
    model, version = split_model_ref(name)
    if version is None:
        raise ApiError(400, "bad_request", "Name the version to delete: "
                       f"DELETE /models/{model}@VERSION.", field="name")
    return registry.delete(model, version, caller)


def registered_latest(registry: ModelRegistry, caller: Caller) -> list[RegisteredModel]:
    """The latest version of each registered model the caller may see (for `GET /models`)."""
    holders = registry.holders()
    return [registered_model(record, True, holders.get(f"{record.name}@{record.version}", []))
            for record in registry.visible(caller)]
