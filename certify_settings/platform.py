"""Batches and webhooks (mixed into the one `Settings` object)."""

from pydantic import BaseModel, Field

from certify_settings.service import split_list

# Every integer the API passes to Redis is bounded: an offset past a batch's largest size
# is refused (422) rather than sent on, where Redis would refuse one over 2**63 (a 500).
MAX_BATCH_FILES = 1_000_000


class PlatformSettings(BaseModel):
    batch_max_files_per_request: int = Field(
        default=500, ge=1, description="Files (or archive members) one request may add to a batch.")
    batch_max_files: int = Field(default=10_000, ge=1, le=MAX_BATCH_FILES,
                                 description="Files in one batch, in all.")
    gate_max_images: int = Field(
        default=10_000, ge=1, le=MAX_BATCH_FILES,
        description="Images one gate may take, all in its one request (send more than a "
        "few hundred as one tar or zip archive; the body is still capped by "
        "CERTIFY_BATCH_MAX_REQUEST_BYTES).")
    batch_max_request_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1,
        description="Body of one batch request, and the unpacked members of one archive, in all.")
    batch_max_archive_ratio: int = Field(
        default=200, ge=1, description="Largest unpacked/packed size ratio of a zip member "
        "(a larger one is refused as a zip bomb).")
    webhook_secret: str = Field(
        default="", description="HMAC-SHA256 key of webhook signatures; unset: `callback_url` "
        "is refused.")
    webhook_allowed_hosts: str = Field(
        default="", description="Comma-separated host names a `callback_url` may name "
        "(`hooks.example.com`, or `*.example.com` for its subdomains); unset: none.")
    webhook_allow_private: bool = Field(
        default=False, description="Allow loopback, private, link-local and other non-public "
        "addresses as webhook targets (tests and closed networks only).")
    webhook_queue: str = Field(default="webhooks", min_length=1)
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Deadline of one delivery attempt, in all "
        "(connect, send, and the receiver's whole answer).")
    webhook_concurrency: int = Field(
        default=16, ge=1, le=256, description="Deliveries one delivery worker process makes "
        "at once (threads).")
    webhook_retries: int = Field(default=8, ge=0, le=20,
                                 description="Retries of a failed delivery.")
    webhook_backoff_s: int = Field(
        default=1, ge=1, description="Seconds before the first retry; each next delay doubles.")

    @property
    def webhook_host_patterns(self) -> tuple[str, ...]:
        return tuple(host.lower() for host in split_list(self.webhook_allowed_hosts))

    @property
    def webhook_retry_intervals(self) -> list[int]:
        return [self.webhook_backoff_s * 2**attempt for attempt in range(self.webhook_retries)]
