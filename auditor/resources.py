"""Where the built-in rule packs and report templates are.

An installed wheel carries them inside the package (auditor/_data/...); a source checkout
keeps them at the top of the repository. Either way callers get a real directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of built-in `rules` or `reports`."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"built-in {name!r} directory not found next to {_PACKAGE_DIR}")


def schema_path(name: str) -> Path:
    return _PACKAGE_DIR / "schemas" / f"{name}.schema.json"
