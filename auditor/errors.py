"""Errors caused by what the user gave us (config, consent registry), as opposed to bugs.

The CLI prints `str(error)` to stderr and exits 2. Every error names the file and, where we
know them, the line and the key, so an officer can go straight to the problem. A loader
collects every problem in a file and raises one error carrying them all in `.errors`: fixing
a policy one complaint per run would be maddening.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

_E = TypeVar("_E", bound="InputError")


class InputError(Exception):
    """Bad user input, e.g. `auditor.yaml:12: retention.default_days: must be an integer or null`."""

    def __init__(
        self, file: str | Path, message: str, *, line: int | None = None, key: str | None = None
    ) -> None:
        self.file = str(file)
        self.message = message
        self.line = line
        self.key = key
        # Every problem found in the file, this one first; a lone error lists just itself.
        self.errors: list[InputError] = [self]
        super().__init__(self.location_text())

    def location_text(self) -> str:
        """This one problem on one line: `file:line: key: message`."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def __str__(self) -> str:
        return "\n".join(error.location_text() for error in self.errors)

    @classmethod
    def from_errors(cls: type[_E], errors: Sequence[InputError]) -> _E:
        """One error of this class that carries all of `errors` (sorted by line); needs at least one."""
        if not errors:
            raise ValueError("from_errors needs at least one error")
        ordered = sorted(errors, key=lambda e: (e.file, e.line or 0))
        first = ordered[0]
        combined = cls(first.file, first.message, line=first.line, key=first.key)
        combined.errors = [combined, *ordered[1:]]
        return combined


class ConfigError(InputError):
    """A problem in auditor.yaml."""


class RegistryError(InputError):
    """A problem in the consent registry (YAML or CSV)."""


class SeamError(Exception):
    """A problem at one of the plugin seams (sources, outputs, rules), found before anything is
    scanned or written. Like InputError, the CLI prints it on one line and exits 2; each seam
    has its own subclass, so a caller can tell which seam failed."""


class PluginConflict(SeamError):
    """Two distributions claim one name (a URL scheme, an output format, a rule id, a pack)."""

    def __init__(self, kind: str, name: str, message: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(message)


class SourceError(SeamError):
    """A target no source can take: an unknown scheme, or one its source's check refuses
    (no credentials, a malformed URL, a setting the source does not accept)."""

    def __init__(self, target: str, message: str) -> None:
        self.target = target
        self.message = message
        super().__init__(f"{target}: {message}")


class OutputError(SeamError, LookupError):
    """An output that cannot be written: no format for its extension, a folder that is missing or
    read-only, or a write that failed (a full disk, a folder removed during the scan)."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{path}: {message}")


class RuleError(SeamError):
    """A rule plugin that breaks the rule seam's contract (e.g. its entry point's name is not its id)."""
