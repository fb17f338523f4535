"""In a real browser: API keys, refused uploads and options, labels and the keyboard."""

from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.dashboard.browser import Page
from tests.dashboard.served import Served
from tests.dashboard.service_calls import SAMPLE_PNG

pytestmark = pytest.mark.integration

# A file dropped on the zone as a drag from the desktop delivers it: a real drop event.
DROP_FILE = """
const [zone, name, text] = arguments;
const transfer = new DataTransfer();
transfer.items.add(new File([text], name, {type: 'text/plain'}));
for (const type of ['dragenter', 'dragover', 'drop']) {
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
"""
MARKUP_MODEL = '<img src=x onerror="window.__injected=1">'
UNLABELLED_CONTROLS = """
return [...document.querySelectorAll('input, select, button, textarea')]
  .filter((node) => node.getClientRects().length > 0)
  .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute('aria-label')
                    && !(node.tagName === 'BUTTON' && node.textContent.trim()))
  .map((node) => node.outerHTML);
"""


def open_with_key(page: Page, served: Served) -> None:
    page.open("/dashboard")
    page.enter_key(served.key)
    page.wait(lambda: len(page.find_all("#model-select option")) > 1, "the models to be listed")
    page.wait(lambda: page.find_all("#option-n"), "the options to be drawn")


def test_the_dashboard_asks_for_a_key_says_when_it_is_wrong_and_works_with_the_right_one(
    page: Page, served: Served
) -> None:
    assert f"dashboard on {served.url}/dashboard" in served.log.read_text()  # what `make run` says
    page.open("/dashboard")
    page.wait(lambda: page.visible("#key-panel"), "the API-key prompt")
    assert "requires an API key" in page.text("#key-message")
    page.screenshot("dashboard-api-key", whole=False)

    page.enter_key("not-the-key")
    page.wait(lambda: "refused this API key" in page.text("#key-message"), "the wrong-key message")
    assert page.visible("#key-panel")

    page.enter_key(served.key)
    page.wait(lambda: not page.visible("#key-panel"), "the prompt to close")
    page.wait(lambda: "test-cnn" in [o.get_attribute("value") for o in
                                     page.find_all("#model-select option")], "the models")
    assert page.visible("#key-status")
    # Kept for this tab's session: a reload keeps it; never in localStorage or a cookie.
    page.open("/dashboard")
    page.wait(lambda: len(page.find_all("#model-select option")) > 1, "the models after a reload")
    assert not page.visible("#key-panel")
    assert page.run("return [localStorage.length, document.cookie]") == [0, ""]


def api_error(served: Served, path: Path, **fields: str) -> dict[str, str]:
    with served.client() as client:
        answer = client.post("/certify", files={"file": (path.name, path.read_bytes())}, data=fields)
    assert answer.status_code in (415, 422), answer.text
    return dict(answer.json())


def test_an_unsupported_upload_and_an_invalid_option_show_the_services_messages_by_their_fields(
    page: Page, served: Served, tmp_path: Path
) -> None:
    with served.client() as client:
        jobs_before = len(client.get("/jobs?limit=200").json()["jobs"])
    open_with_key(page, served)
    notes = tmp_path / "notes.txt"
    notes.write_text("Plain text, not an image.\n")
    refused = api_error(served, notes)
    page.run(DROP_FILE, page.find("#drop-zone"), notes.name, notes.read_text())
    page.wait(lambda: page.text("#file-info").startswith(notes.name), "the dropped file")
    page.find("#submit-button").click()
    page.wait(lambda: page.text("#file-error") == refused["detail"], "the 415 message")
    assert refused["error"] == "unsupported_media_type"

    invalid = api_error(served, SAMPLE_PNG, n="0")
    page.find("#file-input").send_keys(str(SAMPLE_PNG))
    field = page.find("#option-n")
    field.clear()
    field.send_keys("0")
    page.find("#submit-button").click()
    page.wait(lambda: page.text("#option-n-error") == invalid["detail"], "the 422 message")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.run("return document.getElementById('option-n-error').closest('.field') "
                    "=== document.getElementById('option-n').closest('.field')")
    assert not page.visible("#file-error")
    page.screenshot("dashboard-invalid-option")

    # A model that is no longer served (a worker left after the list was drawn), with a name
    # that is markup: the service's message quotes it, and the page shows it as text.
    fill_option = "arguments[0].selectedOptions[0].value = arguments[1]"
    page.run(fill_option, page.find("#model-select"), MARKUP_MODEL)
    field.clear()
    page.find("#submit-button").click()
    unknown = api_error(served, SAMPLE_PNG, model=MARKUP_MODEL)
    assert MARKUP_MODEL in unknown["detail"]
    page.wait(lambda: page.text("#model-error") == unknown["detail"], "the unknown-model message")
    assert page.run("return window.__injected") is None
    assert page.find_all("main img") == []
    with served.client() as client:
        assert len(client.get("/jobs?limit=200").json()["jobs"]) == jobs_before


def test_every_control_is_labelled_and_the_keyboard_reaches_the_form_and_the_list(
    page: Page, served: Served
) -> None:
    open_with_key(page, served)
    assert page.run(UNLABELLED_CONTROLS) == []
    page.open("/dashboard")  # the key is kept: tab through the page from its start
    page.wait(lambda: page.find_all("#option-n"), "the options to be drawn")
    reached = []
    keys = ActionChains(page.driver)
    for _ in range(60):
        keys.send_keys(Keys.TAB).perform()
        reached.append(page.run("return document.activeElement.id || "
                                "document.activeElement.className"))
    assert reached[0] == "skip"
    for control in ("file-input", "model-select", "option-method", "option-n", "submit-button",
                    "status-filter"):
        assert control in reached, reached
    page.use_width(375)
    assert page.overflows() == []
