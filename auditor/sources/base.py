"""The source interface: a source turns one scan target into artifacts with their facts.

Sources register in the `auditor.sources` entry-point group under the URL scheme they serve
("file" for local paths, "s3" for s3://). A source never judges; it records facts (format,
encryption, exposures, attribution hints, dates) and coverage gaps.

What a source registers is a `SourceSpec`: how to build it, the command-line options it takes
and the JSON Schema of its section in auditor.yaml (`sources: {<scheme>: {...}}`). The spec
lives in a light module, so that `auditor scan --help` lists every source's options without
importing any source's SDK; the factory is imported only when a target needs it. The source
then gets its own settings (that section, overridden by its command-line options) through the
seam, never another source's.

Before anything is scanned, the engine calls `check(target)` on every target; a problem there
(a malformed URL, no credentials, a missing folder) is a `SourceError`, one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Any, Protocol

from auditor.config import Config
from auditor.models import Artifact, Coverage
from auditor.shard import Shard


@dataclass
class SourceOptions:
    """What every source is given: the scan's common options (not any one source's settings)."""

    follow_symlinks: bool = False
    excludes: list[str] = field(default_factory=list)
    deep: bool = False  # sniff every file, not only those whose name leaves it open
    as_of: date | None = None
    progress: Callable[[Coverage], None] | None = None
    jobs: int = 1  # processes for a local walk; large trees are shared out when > 1
    # Files the walk lists in-process before it may fork the `jobs` workers: forking costs more
    # CPU than a small tree ever wins back. 0: fork as soon as the frontier is wide enough
    # (an explicit --jobs N); the scan's default is AUTO_FORK_AFTER.
    fork_after: int = 0
    # The scan's default: fork this many instead of `jobs` when the file heads read before the fork
    # came from the page cache (a warm disk gains nothing from more processes than CPUs), and
    # jobs_when_cold when most did not (a cold disk, where more reads in flight win). `jobs` when
    # the page cache could not be asked.
    jobs_when_warm: int | None = None
    jobs_when_cold: int | None = None
    one_file_system: bool = False  # a local walk stays on each target's filesystem (find -xdev)
    shard: Shard | None = None  # --shard I/N: only this shard's units (auditor.shard)


class Source(Protocol):
    def check(self, target: str) -> None:
        """Refuse a target this source cannot scan (raise auditor.errors.SourceError), before any
        target is scanned; cheap and local where it can be (no listing)."""
        ...

    def scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        """Yield artifacts under `target`, streaming; record every unexamined place in coverage.gaps."""
        ...


@dataclass(frozen=True)
class SourceOption:
    """A command-line option of `auditor scan` that a source declares."""

    key: str  # the setting it fills, as named in the source's config section ("endpoint_url")
    flag: str  # how it is spelt on the command line ("--endpoint-url")
    help: str
    metavar: str | None = None
    multiple: bool = False  # repeatable: the setting is a list


# (config, common options, this source's settings) -> Source
SourceFactory = Callable[[Config, SourceOptions, Mapping[str, Any]], Source]


@dataclass(frozen=True)
class SourceSpec:
    """What a source plugin registers in `auditor.sources`."""

    factory: SourceFactory | str  # or "module:attribute", imported on first use
    options: tuple[SourceOption, ...] = ()
    config_schema: Mapping[str, Any] | None = None  # JSON Schema of `sources.<scheme>`; None: no section
    description: str = ""
    takes_settings: bool = True  # False for a bare (config, options) factory registered directly

    def build(self, config: Config, options: SourceOptions, settings: Mapping[str, Any]) -> Source:
        factory = self.factory
        if isinstance(factory, str):
            module, _, attribute = factory.partition(":")
            factory = getattr(import_module(module), attribute)
        if not self.takes_settings:
            return factory(config, options)  # type: ignore[call-arg]
        return factory(config, options, settings)

    @classmethod
    def of(cls, registered: Any) -> SourceSpec:
        """The spec of an entry point's object: a SourceSpec, or a bare factory `(config, options)`
        (the older form, which declares no options and no config section)."""
        if isinstance(registered, SourceSpec):
            return registered
        if callable(registered):
            return cls(factory=registered, takes_settings=False)
        raise TypeError(f"{registered!r} is neither a SourceSpec nor a source factory")
