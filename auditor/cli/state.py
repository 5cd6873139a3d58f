"""The state folder option shared by `auditor scan` and `auditor breach`, and opening the breach
register it holds. The register's module (sqlite3 and the breach machinery) is imported only
when a state folder is named: a scan without one does not pay for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from auditor.config import Config
from auditor.errors import InputError

if TYPE_CHECKING:
    from auditor.breach.register import BreachRegister

F = TypeVar("F", bound=Callable[..., Any])


def state_option(func: F) -> F:
    return click.option(
        "--state",
        "state_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="State folder holding the breach register (default: state_dir in the config).",
    )(func)


def open_register(state_dir: Path | None, config: Config, *, create: bool) -> BreachRegister | None:
    """The register named by --state or the config; None when neither names one. Exit 2 if unusable."""
    folder = state_dir or config.state_dir
    if folder is None:
        return None
    from auditor.breach.register import BreachRegister, RegisterError

    try:
        return BreachRegister(folder, create=create)
    except RegisterError as exc:
        raise InputError(exc.path, exc.message) from exc
