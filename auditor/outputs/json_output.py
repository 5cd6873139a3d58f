"""`.json`: the machine contract (docs/json-contract.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.contract import iter_json
from auditor.outputs.base import OutputOptions, write_private


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    write_private(path, iter_json(result))
