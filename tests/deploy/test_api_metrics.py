"""The API's /metrics in-process: request series by route and status, queue gauges, Redis down."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from certify_contract import CertifyOptions
from certify_jobs.contract import JobPayload
from certify_settings import Settings
from certify_testkit.processes import free_port, start_redis, stop
from tests.app_client import AppClient, running


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[AppClient]:
    port = free_port()
    server = start_redis(port, tmp_path)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        yield from running(Settings(redis_url=url, queue_name="metrics-test"))
    finally:
        stop(server)


def test_requests_are_counted_by_route_template_and_status(client: AppClient) -> None:
    client.get("/healthz")
    client.get("/jobs/" + "0" * 32)
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert value(text, "certify_api_requests_total", method="GET", route="/healthz",
                 status="200") == 1
    assert value(text, "certify_api_requests_total", method="GET", route="/jobs/{job_id}",
                 status="404") == 1
    assert value(text, "certify_api_requests_total", method="GET", route="unmatched",
                 status="404") == 1
    assert value(text, "certify_api_request_duration_seconds_count", method="GET",
                 route="/healthz", status="200") == 1


def test_made_up_methods_and_paths_add_no_series(client: AppClient) -> None:
    def series() -> int:
        return sum(1 for (name, _) in samples(client.get("/metrics").text)
                   if name.startswith("certify_api_"))

    # Every label combination the requests below can reach, once; then no new ones.
    for method, path in (("BREW", "/healthz"), ("GET", "/no/such"), ("BREW", "/made/up"),
                         ("GET", "/metrics")):
        client.request(method, path)
    before = series()
    for i in range(300):
        client.request(f"M{i}", "/healthz")
        client.request("GET", f"/no/such/path/{i}")
        client.request(f"X{i}", f"/also/not/{i}")
    assert series() == before
    text = client.get("/metrics").text
    assert value(text, "certify_api_requests_total", method="other", route="/healthz",
                 status="405") == 301
    assert value(text, "certify_api_requests_total", method="other", route="unmatched",
                 status="404") == 301


def test_queue_depth_and_oldest_job_age(client: AppClient) -> None:
    text = client.get("/metrics").text
    assert value(text, "certify_redis_up") == 1
    assert value(text, "certify_queue_depth", queue="metrics-test") == 0
    assert value(text, "certify_queue_oldest_job_age_seconds", queue="metrics-test") == 0
    queue = client.app.state.job_queue
    payload = JobPayload("k", "s", 1, "image/png", "image", "m", CertifyOptions(n=10), 1)
    for _ in range(2):
        queue.enqueue(payload, queue.new_job_id(), owner="anonymous")
    time.sleep(0.3)
    text = client.get("/metrics").text
    assert value(text, "certify_queue_depth", queue="metrics-test") == 2
    assert 0.2 < value(text, "certify_queue_oldest_job_age_seconds", queue="metrics-test") < 30
    assert value(text, "certify_workers", queue="metrics-test") == 0
    assert value(text, "certify_jobs_running", queue="metrics-test") == 0


def test_metrics_answer_while_redis_is_away() -> None:
    for client in running(Settings(redis_url="redis://127.0.0.1:1/0")):
        response = client.get("/metrics")
    assert response.status_code == 200
    assert value(response.text, "certify_redis_up") == 0
    assert "certify_queue_depth" not in response.text
