"""The page's polling, counted by the service itself (its request counters) over idle time."""

import time

import pytest

from tests.dashboard.browser import Page
from tests.dashboard.served import Served
from tests.dashboard.service_calls import requests_served, submit, wait_until_ended, wait_until_idle
from tests.dashboard.test_keys_and_forms import open_with_key

pytestmark = pytest.mark.integration

IDLE_S = 30
# The list is asked for at 0, 1, 3, 7, 15, 31 s... while nothing changes: at most 5 requests
# start in any 30 s; polling every second would make 30.
MOST_LIST_REQUESTS = 5


def list_requests(served: Served) -> int:
    return requests_served(served, "GET", "/jobs")


def job_requests(served: Served) -> int:
    return requests_served(served, "GET", "/jobs/{job_id}")


def test_idle_polling_backs_off_pauses_when_hidden_and_never_polls_ended_jobs(
    page: Page, served: Served
) -> None:
    ended = submit(served, n="100")
    wait_until_ended(served, ended)
    wait_until_idle(served)
    open_with_key(page, served)
    page.wait(lambda: page.find_all("#jobs-body tr"), "the first list")

    lists, jobs = list_requests(served), job_requests(served)
    time.sleep(IDLE_S)
    idle_lists = list_requests(served) - lists
    print(f"idle polling: {idle_lists} list requests in {IDLE_S} s")
    assert 2 <= idle_lists <= MOST_LIST_REQUESTS
    assert job_requests(served) == jobs  # the list view asks for no single job

    visible_tab = page.driver.current_window_handle
    page.driver.switch_to.new_window("tab")  # the dashboard's tab is hidden now
    lists = list_requests(served)
    time.sleep(10)
    assert list_requests(served) == lists
    page.driver.switch_to.window(visible_tab)
    page.wait(lambda: list_requests(served) > lists, "a poll once the tab is visible again")

    lists, jobs = list_requests(served), job_requests(served)
    page.open(f"/dashboard/jobs/{ended}")
    page.wait(lambda: page.find_all(".claim"), "the ended job's certificate")
    time.sleep(10)
    assert job_requests(served) - jobs == 1  # read once; an ended job is never polled
    assert list_requests(served) == lists
