"""Settings of the certification service (API, workers, `certify serve`).

Mixed into the one `Settings` object; kept apart so the library's settings stay
short. Every duration is in seconds and every one is finite: the queue rules
forbid jobs, results or uploads that live forever.
"""

from pydantic import BaseModel, Field

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def split_list(text: str) -> tuple[str, ...]:
    """Comma-separated environment values (`a,b`) as a tuple without blanks."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


class ServiceSettings(BaseModel):
    redis_url: str | None = Field(
        default=None,
        description="Redis URL of the queue. Unset: `certify serve` starts a private Redis; "
        f"`certify api` and `certify worker` use {DEFAULT_REDIS_URL}.",
    )
    queue_name: str = Field(default="certify", min_length=1)
    api_keys: str = Field(
        default="", description="Comma-separated API keys; when set, X-API-Key is required. Each "
        "key is a tenant: it sees and cancels only the jobs it created."
    )
    admin_api_keys: str = Field(
        default="", description="Comma-separated operator keys: valid keys that see and cancel "
        "every tenant's jobs. Setting only these also turns keys on."
    )
    allow_no_api_key: bool = Field(
        default=False, description="Let `certify serve` and `certify api` listen on a "
        "non-loopback address with no API keys (a trusted network only)."
    )
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    api_workers: int = Field(
        default=1, ge=1, le=64, description="API processes (uvicorn workers) when `--workers` "
        "is not given; each keeps its own /metrics counters.")
    request_header_timeout_s: float = Field(
        default=10.0, gt=0, description="A request's headers must arrive within this time (else "
        "408 and the connection closes): a slow client cannot hold a connection.")
    request_body_timeout_s: float = Field(
        default=120.0, gt=0, description="A request's whole body must arrive within this time "
        "(else 408 `request_timeout`); 120 s lets 20 MB through at about 1.4 Mbit/s.")
    result_ttl_s: int = Field(default=86_400, ge=1, description="Lifetime of finished jobs.")
    failure_ttl_s: int = Field(default=7 * 86_400, ge=1, description="Lifetime of crashed jobs.")
    job_timeout_s: int = Field(default=900, ge=1, description="Hard limit on one job's run time.")
    job_retries: int = Field(
        default=1, ge=0, description="Re-runs of a job whose worker died (killed, lost)."
    )
    heartbeat_ttl_s: int = Field(
        default=60, ge=2, description="A running job whose worker is silent this long is abandoned."
    )
    worker_ttl_s: int = Field(default=35, ge=16, description="Worker registration lifetime.")
    worker_presence_ttl_s: int = Field(
        default=10, ge=2, description="A worker silent this long no longer counts as live "
        "(/readyz, GET /models, POST /certify); it renews its presence every third of it.")
    maintenance_interval_s: int = Field(default=30, ge=1)
    idempotency_ttl_s: int = Field(default=86_400, ge=1)
    idempotency_lease_s: int = Field(
        default=10, ge=1, le=3600, description="How long a request holds an Idempotency-Key "
        "before what it creates exists; a retry of a request that died waits this long.")
    jobs_index_max: int = Field(default=10_000, ge=1, description="Jobs kept in GET /jobs.")
    tenant_max_queued: int = Field(
        default=0, ge=0, description="Jobs one API key may have waiting (a batch counts its "
        "files); more answer 429 tenant_queue_full. 0: no limit.")
    tenant_max_running: int = Field(
        default=0, ge=0, description="Jobs of one API key that workers run at once; the rest "
        "wait their turn. 0: no limit.")
    tenant_samples_per_hour: int = Field(
        default=0, ge=0, description="Noise samples (n0 + n, times patches) one API key's jobs "
        "may ask for per clock hour; more answer 429 tenant_rate_limited. 0: no limit.")
    worker_models: str = Field(
        default="", description="Comma-separated models a worker serves (default: the default "
        "image model, and the default video model when it is installed)."
    )
    warm_up: str = Field(
        default="", description="Comma-separated precision:compile pairs (bf16:default, fp32:off) "
        "each worker runs for every model before its first job, compiling once per process; the "
        "manifest's own default is always warmed up."
    )
    default_image_model: str = "fmnist-cnn-s025"
    default_video_model: str | None = "moving-fmnist-c2d-s025"
    api_url: str = Field(default="http://127.0.0.1:8000",
                         description="Where `certify submit` and `certify status` send requests.")
    api_key: str | None = Field(default=None, description="X-API-Key that the client commands send.")
    decode_timeout_s: float = Field(default=30.0, gt=0)
    decode_memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2)

    @property
    def api_key_set(self) -> frozenset[str]:
        """Every key the API accepts: tenants' and operators'."""
        return frozenset(split_list(self.api_keys)) | self.admin_key_set

    @property
    def admin_key_set(self) -> frozenset[str]:
        return frozenset(split_list(self.admin_api_keys))

    @property
    def redis_url_or_default(self) -> str:
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def warm_up_pairs(self) -> tuple[tuple[str, str], ...]:
        """`warm_up` as (precision, compile) pairs; a pair without `:` means compile off."""
        return tuple((item.partition(":")[0], item.partition(":")[2] or "off")
                     for item in split_list(self.warm_up))

    @property
    def served_models(self) -> tuple[str, ...]:
        """Explicit models, else the default image model (and video model, when installed)."""
        return split_list(self.worker_models) or (self.default_image_model,)

    @property
    def optional_models(self) -> tuple[str, ...]:
        """Defaults a worker serves only when they are installed (never named explicitly)."""
        if split_list(self.worker_models) or self.default_video_model is None:
            return ()
        return (self.default_video_model,)
