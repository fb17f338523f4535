"""`certify serve --model-dir PATH`: serve every model in a folder, with no hidden settings.

Each subfolder holding a `manifest.json` is a model, registered under the
subfolder's name. Every manifest is checked before anything starts, so a bad
one is one line naming its folder and field, not a worker's traceback.
"""

from pathlib import Path

from certify_cli.errors import CommandError
from certify_core.errors import ModelLoadError
from certify_core.models.loading import available_models
from certify_core.models.manifest import MANIFEST_NAME, ModelManifest
from certify_datasets import DatasetError, Preprocessing
from certify_settings import Settings


def check_model_folder(folder: Path) -> list[str]:
    """The names of the folder's models; CommandError for a missing folder or a bad manifest."""
    if not folder.is_dir():
        raise CommandError(f"--model-dir {folder}: no such folder.")
    manifests = sorted(folder.glob(f"*/{MANIFEST_NAME}"))
    if not manifests:
        raise CommandError(f"--model-dir {folder}: no model folders (a subfolder per model, "
                           f"each with a {MANIFEST_NAME}).")
    for path in manifests:
        try:
            manifest = ModelManifest.load(path)
            Preprocessing.from_manifest(manifest.preprocessing or None, str(path))
        except ModelLoadError as exc:  # its message names the manifest and the field
            raise CommandError(exc.detail) from exc
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        if not (path.parent / manifest.weights).is_file():
            raise CommandError(f"{path}: field `weights`: {manifest.weights} is not a file in "
                               "the model's folder.")
    return [path.parent.name for path in manifests]


def model_folder_environment(folder: Path, settings: Settings) -> dict[str, str]:
    """The settings that make a worker serve the folder's models beside the defaults."""
    folder = folder.resolve()
    names = check_model_folder(folder)
    installed = available_models((folder,))
    defaults = [m for m in (settings.default_image_model, settings.default_video_model)
                if m is not None and m in installed and m not in names]
    return {"CERTIFY_MODEL_DIR": str(folder), "CERTIFY_WORKER_MODELS": ",".join(names + defaults)}
