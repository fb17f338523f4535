"""Video uploads take the same path: sniffed, routed to a video model, decoded guarded."""

import httpx
import pytest

from tests.service.processes import poll_job
from tests.video.media import encode_video

pytestmark = pytest.mark.integration
SMALL = {"n": "100", "n0": "10", "batch_size": "50"}


def test_a_video_is_certified_by_the_default_video_model(client: httpx.Client) -> None:
    clip = encode_video("mp4", "libx264", frames=12, size=(32, 32))
    accepted = client.post("/certify", files={"file": ("v.mp4", clip)},
                           data={**SMALL, "frames": "6"})
    assert accepted.status_code == 202, accepted.text
    view = poll_job(client, accepted.json()["job_id"])
    assert view["status"] == "succeeded", view
    assert view["model"] == "test-video" and view["media_type"] == "video/mp4"
    assert view["result"]["input"]["shape"] == [1, 6, 28, 28]
    assert len(view["result"]["input"]["frame_indices"]) == 6


def test_media_and_model_must_match(client: httpx.Client, sample_png: bytes) -> None:
    clip = encode_video("matroska", "libvpx-vp9", frames=6, size=(32, 32))
    wrong_model = client.post("/certify", files={"file": ("v.webm", clip)},
                              data={**SMALL, "model": "test-cnn"})
    assert wrong_model.status_code == 422 and wrong_model.json()["error"] == "model_media_mismatch"
    frames_on_image = client.post("/certify", files={"file": ("a.png", sample_png)},
                                  data={**SMALL, "frames": "4"})
    assert frames_on_image.status_code == 422
    assert frames_on_image.json()["error"] == "invalid_option"
