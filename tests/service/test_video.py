"""Video uploads take the same path: sniffed, routed to a video model, decoded guarded."""

from collections.abc import Callable

import httpx
import pytest

from certify_testkit.processes import poll_job
from certify_testkit.video_media import encode_audio_only, encode_video

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


@pytest.mark.parametrize(
    ("name", "make", "status", "codes"),
    [
        # told apart at upload: not a video container at all
        ("text.mp4", lambda: b"this is plain text with a video extension", 415, {"unsupported_media_type"}),
        # looks like a container, so only the guarded decoder can tell
        ("cut.mp4", lambda: encode_video("mp4", "libx264", frames=12, size=(32, 32))[:700], 202,
         {"truncated_video", "corrupt_video"}),
        ("audio.mkv", encode_audio_only, 202, {"no_video_stream"}),
    ],
)
def test_hostile_videos_fail_cleanly_and_the_worker_goes_on(
    client: httpx.Client, name: str, make: Callable[[], bytes], status: int, codes: set[str]
) -> None:
    response = client.post("/certify", files={"file": (name, make())}, data=SMALL)
    assert response.status_code == status, response.text
    if status != 202:
        assert response.json()["error"] in codes and response.json()["detail"]
    else:
        view = poll_job(client, response.json()["job_id"])
        assert view["status"] == "failed" and view["error"]["error"] in codes, view
    good = client.post("/certify", files={"file": ("v.webm", encode_video(
        "matroska", "libvpx-vp9", frames=8, size=(40, 30)))}, data={**SMALL, "frames": "6"})
    assert poll_job(client, good.json()["job_id"])["status"] == "succeeded"
