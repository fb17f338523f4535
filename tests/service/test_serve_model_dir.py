"""`certify serve --model-dir PATH` (what `make run MODEL_DIR=PATH` runs): every model in a folder.

No other setting is needed: the folder's models are served beside the
defaults, and a bad manifest is refused before anything starts, in one line
that names the folder and the field.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from certify_cli.main import main
from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import REPO, free_port, poll_job, wait_for

pytestmark = pytest.mark.integration


def _manifest(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "manifest.json").read_text())
    return data


@pytest.mark.parametrize(("change", "expected"), [
    ({"input_shape": None}, "field `input_shape`: missing."),
    ({"normalization": {"std": [1]}}, "field `normalization`: missing key 'mean'."),
    ({"format": "pickle"}, "field `format`: expected one of ['state_dict', 'safetensors', "
                           "'exported', 'torchscript', 'reference_checkpoint'], got 'pickle'."),
    ({"architecture": None}, "field `architecture`: missing."),
    ({"kind": "video"}, "field `kind`: expected image with (C,H,W) or video with (C,T,H,W), "
                        "got 'video'."),
    ({"weights": "nowhere.pt"}, "field `weights`: nowhere.pt is not a file in the model's folder."),
    ({"preprocessing": {"resize": 0}}, "field `preprocessing.resize` must be a positive integer, "
                                       "got 0."),
])
def test_a_bad_manifest_is_one_line_naming_the_folder_and_the_field(
    tmp_path: Path, change: dict[str, object], expected: str, capsys: pytest.CaptureFixture[str],
) -> None:
    write_test_model(tmp_path, "good")
    bad = write_test_model(tmp_path, "bad") / "bad"
    manifest = {**_manifest(bad), **change}
    (bad / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if v is not None}))
    assert main(["serve", "--model-dir", str(tmp_path), "--port", str(free_port())]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"certify: error: {bad}/manifest.json: ") and line.endswith(expected), line


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model-dir", str(tmp_path)]) == 2
    assert "no model folders" in capsys.readouterr().err
    assert main(["serve", "--model-dir", str(tmp_path / "nope")]) == 2
    assert f"--model-dir {tmp_path / 'nope'}: no such folder." in capsys.readouterr().err


def test_serve_with_a_model_dir_serves_its_models_with_no_other_setting(
    tmp_path: Path, sample_png: bytes,
) -> None:
    models = write_test_model(write_test_model(tmp_path / "models", "mine-a"), "mine-b",
                              tuple(f"b{i}" for i in range(10)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")}
    env.update({"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CERTIFY_LOG_FORMAT": "text",
                "XDG_DATA_HOME": str(tmp_path / "xdg-data")})  # the default data folder, empty
    port, log_path = free_port(), tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "certify_cli.main", "serve", "--port",
                                  str(port), "--model-dir", str(models)], env=env, cwd=REPO,
                                 stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 120, "certify serve ready", serve)
        with httpx.Client(base_url=url, timeout=30) as client:
            served = {m["name"]: m for m in client.get("/models").json()["models"]}
            assert {"mine-a", "mine-b", "fmnist-cnn-s025"} <= set(served)
            assert served["mine-b"]["manifest"]["class_names"][3] == "b3"
            job = client.post("/certify", files={"file": ("a.png", sample_png)},
                              data={"model": "mine-b", "n": "100", "n0": "10"}).json()["job_id"]
            done = poll_job(client, job)
            assert done["status"] == "succeeded", done
            assert done["result"]["model"]["name"] == "mine-b"
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(30) == 0
        text = log_path.read_text()
        assert f"serving mine-a,mine-b,fmnist-cnn-s025,moving-fmnist-c2d-s025 from {models}" in text
        assert "Traceback" not in text, text
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
