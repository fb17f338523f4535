"""Where the store keeps its files: the data directory, and the database inside it by default.

The data directory holds the embedded database (`certify.db`), the uploads
(`uploads/`, content-addressed) and the signing keys (`keys/`). Its default
follows the XDG base directories: `$XDG_DATA_HOME/certify`, else
`~/.local/share/certify` (the settings resolve it; nothing here reads the environment).
"""

from dataclasses import dataclass
from pathlib import Path

DATABASE_FILE = "certify.db"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


@dataclass(frozen=True)
class StoreLocations:
    """The store's places: its data directory and its database URL (SQLite there by default)."""

    data_dir: Path
    database_url: str | None = None
    keys_dir: Path | None = None

    @property
    def url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir / DATABASE_FILE)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def signing_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")
