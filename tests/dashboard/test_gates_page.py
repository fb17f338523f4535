"""The gates pages in a real browser: the key's gates, and one gate's looks and verdict."""

import json
import time
from typing import Any

from tests.dashboard.browser import Page
from tests.dashboard.served import Served
from tests.dashboard.service_calls import SAMPLE_PNG


def run_gate(served: Served) -> dict[str, Any]:
    """A tiny gate (three labelled images, one look) run to its verdict."""
    names = ["a.png", "b.png", "c.png"]
    with served.client() as client:
        answer = client.post("/gates", data={
            "model": "test-cnn", "radius": "0.1", "n": "100", "n0": "10", "batch_size": "100",
            "min_accuracy": "0.5", "labels": json.dumps(dict.fromkeys(names, 9))},
            files=[("file", (name, SAMPLE_PNG.read_bytes(), "image/png")) for name in names])
        assert answer.status_code == 202, answer.text
        gate_id = answer.json()["gate_id"]
        deadline = time.monotonic() + 120
        while (view := client.get(f"/gates/{gate_id}").json())["state"] == "running":
            assert time.monotonic() < deadline, view
            time.sleep(0.3)
    return dict(view)


def test_a_gate_shows_its_looks_and_verdict(page: Page, served: Served) -> None:
    gate = run_gate(served)
    page.open("/dashboard/gates")
    page.enter_key(served.key)
    row = f'#gates-body tr[data-gate-id="{gate["gate_id"]}"]'
    page.wait(lambda: page.find_all(row), "the gate in the list")
    assert page.text(f"{row} td[data-verdict]") == gate["verdict"]["verdict"]
    page.find(f"{row} a").click()
    page.wait(lambda: page.find_all("#gate-verdict"), "the verdict")
    assert page.text("#gate-verdict").startswith(f'{gate["verdict"]["verdict"]}: certified accuracy')
    cells = [c.text for c in page.find_all(".gate-looks tbody td")]
    look = gate["looks"][0]
    assert cells[:2] == ["1", str(look["images"])]
    assert cells[3] == str(look["certified"])
    assert len(page.find_all(".gate-chart")) == 2
    page.screenshot("dashboard-gate")
    assert page.overflows() == [], "nothing wider than the page"
