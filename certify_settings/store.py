"""The record store: data directory, database, upload retention, signing keys."""

import os
import re
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(value: object) -> object:
    """`30d`, `12h`, `90m`, `45s` or plain seconds, as seconds; anything else is left to pydantic."""
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)):
        return int(match[1]) * _UNITS[match[2]]
    return value


class StoreSettings(BaseModel):
    data_dir: Path | None = Field(
        default=None, description="Folder of the embedded database, the uploads and the signing "
        "keys (default: $XDG_DATA_HOME/certify, else ~/.local/share/certify).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the record database, e.g. "
        "postgresql+psycopg://user@host/db; unset: SQLite `certify.db` in the data directory.")
    upload_retention: int = Field(
        default=30 * 86_400, ge=0, description="How long an upload is kept after the last job "
        "that used it ended, in seconds or with a unit (`30d`, `12h`); 0: deleted at the end.")
    signing_keys_dir: Path | None = Field(
        default=None, description="Folder of the Ed25519 signing keys (a mounted secret in a "
        "deployment); unset: `keys/` in the data directory, created on first start.")

    _parse_retention = field_validator("upload_retention", mode="before")(parse_duration)

    @property
    def data_dir_or_default(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        xdg = os.environ.get("XDG_DATA_HOME", "")
        # The XDG base directory spec ignores a relative XDG_DATA_HOME.
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
        return base / "certify"
