"""The one settings object of the project (environment prefix `CERTIFY_`).

Read once by each process's entry point and passed down; library code never
reads the environment. Importable without torch or FastAPI.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from certify_settings.operations import OperationsSettings
from certify_settings.platform import PlatformSettings
from certify_settings.registry import RegistrySettings
from certify_settings.service import ServiceSettings
from certify_settings.store import StoreSettings


class Settings(ServiceSettings, OperationsSettings, PlatformSettings, StoreSettings,
               RegistrySettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CERTIFY_", extra="ignore")

    model_dir: Path | None = Field(
        default=None, description="Directory of model folders (each with a manifest.json)."
    )
    device: str | None = Field(default=None, description="Torch device; default CUDA if present.")
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    fashion_mnist_dir: Path | None = Field(
        default=None, description="Folder of the Fashion-MNIST idx .gz files (default: "
        "/usr/share/datasets/fashion-mnist, where Debian's dataset-fashion-mnist puts them).",
    )

    @property
    def model_store_dir_or_default(self) -> Path:
        return self.model_store_dir or self.data_dir_or_default / "models"

    @property
    def model_dirs(self) -> tuple[Path, ...]:
        return (self.model_dir,) if self.model_dir is not None else ()


def load_settings() -> Settings:
    return Settings()
