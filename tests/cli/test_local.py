"""`certify local`: real files, the real console script, one-line errors."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from certify_cli.main import main
from tests.terminal import run_with_terminal_stderr

SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"
CERTIFICATE_FIELDS = {
    "label", "label_name", "abstained", "radius", "p_lower", "n_a", "n", "n0", "alpha", "sigma",
    "method", "aggregate", "noise", "geometry", "lift_norm", "model", "seed", "elapsed_s",
    "selection_counts", "estimation_counts", "input",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, random_model_dir: Path) -> Path:
    monkeypatch.setenv("CERTIFY_MODEL_DIR", str(random_model_dir))
    return random_model_dir


@pytest.fixture(scope="module")
def rgb_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data  # a real photo, resized down by the decoder

    path = tmp_path_factory.mktemp("photos") / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(path, quality=90)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "certify_cli.main", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def test_json_certificates_for_several_files(env: Path, rgb_photo: Path) -> None:
    result = run_cli("local", str(SAMPLE), str(rgb_photo), "--model", "tiny-cnn", "--n", "200",
                     "--n0", "20", "--seed", "5", "--json", "--method", "smooth-reduce",
                     "--noise", "independent", "--patches", "4")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first.keys() >= CERTIFICATE_FIELDS
    assert first["seed"] == 5 and first["geometry"]["k"] == 4 and first["lift_norm"] >= 1.0
    assert first["input"]["shape"] == [1, 28, 28]
    assert second["input"]["source_size"] == [451, 300] and second["input"]["source_mode"] == "RGB"
    assert "Traceback" not in result.stderr


def test_same_seed_same_certificate(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["local", str(SAMPLE), "--model", "tiny-cnn", "--n", "200", "--n0", "20",
            "--seed", "3", "--json"]
    assert main(args) == 0
    assert main(args) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    first.pop("elapsed_s"), second.pop("elapsed_s")
    assert first == second


def bad_files(tmp: Path) -> dict[str, Path]:
    corrupt = tmp / "corrupt.png"
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    corrupt.write_bytes(buffer.getvalue()[:2000])
    text = tmp / "text.png"
    text.write_text("this is not an image at all")
    empty = tmp / "empty.png"
    empty.write_bytes(b"")
    return {"corrupt": corrupt, "text": text, "empty": empty}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sigma", "0"], "sigma"),
        (["--sigma", "-1"], "sigma"),
        (["--n0", "0"], "n0"),
        (["--n", "0"], "`n`"),
        (["--alpha", "1.5"], "Expected `alpha` in [1e-12, 1), got 1.5"),
        (["--alpha", "0"], "alpha"),
        (["--method", "smooth-reduce", "--patch-size", "40"], "larger than"),
        (["--method", "smooth-reduce", "--patches", "0"], "patches"),
        (["--method", "smooth-reduce", "--stride", "0"], "stride"),
        (["--patches", "3"], "smooth-reduce"),
        (["--batch-size", "0"], "batch_size"),
        (["--sampling", "adaptive", "--looks", "20,10"], "strictly increasing"),
        (["--sampling", "adaptive", "--looks", "10,10"], "strictly increasing"),
        (["--sampling", "adaptive", "--looks", "100"], "first look"),
        (["--sampling", "adaptive", "--radius", "0"], "radius"),
        (["--sampling", "adaptive", "--tolerance", "0"], "tolerance"),
        (["--sampling", "adaptive", "--tolerance", "1.5"], "tolerance"),
        (["--sampling", "adaptive", "--radius", "1.0"], "the largest radius they can give"),
        (["--looks", "100,200"], "adaptive"),
        (["--model", "no-such-model"], "no-such-model"),
    ],
)
def test_bad_options_give_one_line_errors(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["local", str(SAMPLE), "--model", "tiny-cnn", "--n", "50", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: error:") and message in err
    assert len(err.splitlines()) == 1


def test_adaptive_local_certificate_says_how_it_was_sampled(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["local", str(SAMPLE), "--model", "tiny-cnn", "--n", "400", "--n0", "20", "--seed", "3",
            "--json", "--sampling", "adaptive", "--looks", "100,200", "--radius", "0.01"]
    assert main(args) == 0
    cert = json.loads(capsys.readouterr().out)
    assert cert["sampling"] == "adaptive" and cert["looks"] == [100, 200, 400]
    assert cert["n"] in cert["looks"] and cert["looks_taken"] >= 1
    assert cert["stop_reason"] in ("certified", "not_certifiable", "n_max")
    assert cert["certified_at_radius"] == (cert["stop_reason"] == "certified")
    assert cert["model_evaluations"] == cert["n0"] + cert["n"]


def test_a_radius_alone_is_decision_mode(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["local", str(SAMPLE), "--model", "tiny-cnn", "--n", "200", "--n0", "20", "--seed", "3",
            "--json", "--radius", "0.01"]
    assert main(args) == 0
    cert = json.loads(capsys.readouterr().out)
    assert cert["sampling"] == "adaptive" and cert["radius_asked"] == 0.01
    assert cert["certified_at_radius"] == (cert["stop_reason"] == "certified")


@pytest.mark.parametrize("kind", ["corrupt", "text", "empty"])
def test_bad_files_give_one_line_errors(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = bad_files(tmp_path)[kind]
    assert main(["local", str(path), "--model", "tiny-cnn", "--n", "50"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: error:") and len(err.splitlines()) == 1


def test_missing_file_and_model_through_the_console_script(env: Path, tmp_path: Path) -> None:
    missing = run_cli("local", str(tmp_path / "nope.png"), "--model", "tiny-cnn")
    assert missing.returncode == 2 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_model = run_cli("local", str(SAMPLE), "--model", str(tmp_path / "missing.pt2"))
    assert no_model.returncode == 2 and "Traceback" not in no_model.stderr
    assert len(no_model.stderr.strip().splitlines()) == 1


def test_default_models_and_settings_come_from_the_environment_once(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the service, `certify local` honours CERTIFY_DEFAULT_IMAGE_MODEL, read once."""
    from certify_settings import Settings

    monkeypatch.setenv("CERTIFY_DEFAULT_IMAGE_MODEL", "tiny-cnn")
    reads = []
    original = Settings.__init__

    def counted(self: Settings, **values: object) -> None:
        reads.append(1)
        original(self, **values)

    monkeypatch.setattr(Settings, "__init__", counted)
    assert main(["local", str(SAMPLE), "--n", "50", "--n0", "10", "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["name"] == "tiny-cnn"
    assert len(reads) == 1


def test_trusted_in_process_decoding_gives_the_sandbox_s_certificate(
    env: Path, rgb_photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["local", str(rgb_photo), "--model", "tiny-cnn", "--n", "50", "--n0", "10",
            "--seed", "2", "--json"]
    assert main(args) == 0 and main([*args, "--trusted"]) == 0
    sandboxed, trusted = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    sandboxed.pop("elapsed_s"), trusted.pop("elapsed_s")
    assert sandboxed == trusted and sandboxed["input"]["source_format"] == "JPEG"


def test_progress_bar_on_a_terminal_and_quiet_when_piped(env: Path) -> None:
    argv = [sys.executable, "-m", "certify_cli.main", "local", str(SAMPLE), "--model", "tiny-cnn",
            "--n", "3000", "--n0", "20", "--batch-size", "500", "--seed", "1"]
    code, stdout, terminal = run_with_terminal_stderr(argv, env=dict(os.environ))
    assert code == 0, terminal
    assert "fmnist-ankle-boot.png: 100%" in terminal and "3.02k/3.02k" in terminal
    assert "sample/s" in terminal and "<00:00" in terminal  # rate and time left
    assert stdout.startswith(f"{SAMPLE}: ")
    piped = run_cli(*argv[3:])
    assert piped.returncode == 0 and piped.stderr == ""
    quiet = run_with_terminal_stderr([*argv, "--json"], env=dict(os.environ))
    assert quiet[0] == 0 and quiet[2] == ""


@pytest.mark.slow
def test_a_long_run_says_what_it_will_do_and_how_long_it_should_take(env: Path) -> None:
    result = run_cli("local", str(SAMPLE), "--model", "tiny-cnn", "--n0", "100", "--n", "9900",
                     "--seed", "1", "--json")
    assert result.returncode == 0, result.stderr
    (plan,) = result.stderr.splitlines()
    assert plan.startswith("certify local: fmnist-ankle-boot.png: n0=100 + n=9,900 noisy samples on "
                           "tiny-cnn (cpu), about ")
    assert " s at " in plan and "samples/s" in plan
    assert json.loads(result.stdout)["n"] == 9900


def test_a_bf16_certificate_is_reproduced_by_its_recorded_options_and_seed(env: Path) -> None:
    """The re-check command of a bf16 certificate: same precision, same seed, same counts."""
    args = ("local", str(SAMPLE), "--model", "tiny-cnn", "--n", "300", "--n0", "20",
            "--sigma", "0.5", "--seed", "11", "--json", "--precision", "bf16")
    first = json.loads(run_cli(*args, "--batch-size", "64").stdout)
    again = json.loads(run_cli(*args, "--batch-size", "1000").stdout)
    fp32 = json.loads(run_cli(*args[:-2], "--precision", "fp32").stdout)
    assert (first["precision"], first["compile"], first["forward_rows"]) == ("bf16", "off", None)
    for key in ("estimation_counts", "selection_counts", "radius", "p_lower", "label"):
        assert first[key] == again[key]
    assert fp32["precision"] == "fp32"
