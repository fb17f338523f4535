"""The batches pages in a real browser: the key's batches, and one batch's curve."""

import json
import time
from typing import Any

from tests.dashboard.browser import Page
from tests.dashboard.served import Served
from tests.dashboard.service_calls import SAMPLE_PNG


def run_batch(served: Served) -> dict[str, Any]:
    """A labelled batch of two images run to its end."""
    names = ["a.png", "b.png"]
    with served.client() as client:
        answer = client.post("/batches", data={
            "model": "test-cnn", "n": "100", "n0": "10", "batch_size": "100",
            "labels": json.dumps(dict.fromkeys(names, 9))},
            files=[("file", (name, SAMPLE_PNG.read_bytes(), "image/png")) for name in names])
        assert answer.status_code == 202, answer.text
        batch_id = answer.json()["batch_id"]
        deadline = time.monotonic() + 120
        while (view := client.get(f"/batches/{batch_id}").json())["status"] != "ended":
            assert time.monotonic() < deadline, view
            time.sleep(0.3)
    return dict(view)


def test_a_batch_shows_its_counts_and_accuracy_curve(page: Page, served: Served) -> None:
    batch = run_batch(served)
    page.open("/dashboard/batches")
    page.enter_key(served.key)
    row = f'#batches-body tr[data-batch-id="{batch["batch_id"]}"]'
    page.wait(lambda: page.find_all(row), "the batch in the list")
    assert page.text(f"{row} td[data-status]") == "ended"
    page.find(f"{row} a").click()
    page.wait(lambda: page.find_all("#batch-metrics"), "the metrics")
    assert page.text("#batch-status") == "ended: 2 succeeded of 2 files"
    assert len(page.find_all(".batch-curve .curve-point")) == len(
        batch["metrics"]["certified_accuracy"])
    assert page.text("#batch-metrics").startswith("2 labelled images")
    # The band is the exact 95% interval at each radius: with 2 images it is wide.
    intervals = batch["metrics"]["certified_accuracy_interval"]
    assert set(intervals) == set(batch["metrics"]["certified_accuracy"])
    for radius, (low, high) in intervals.items():
        assert low <= batch["metrics"]["certified_accuracy"][radius] <= high and high - low > 0.5
    band = page.find(".batch-curve .curve-band").get_attribute("d")
    assert band.startswith("M") and band.endswith("Z") and band.count("L") == 2 * len(intervals) - 1
    page.screenshot("dashboard-batch")
    assert page.overflows() == [], "nothing wider than the page"
