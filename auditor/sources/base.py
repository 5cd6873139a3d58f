"""The source interface: a source turns one scan target into artifacts with their facts.

Sources register in the `auditor.sources` entry-point group under the URL scheme they serve
("file" for local paths, "s3" for s3://). A source never judges; it records facts (format,
encryption, exposures, attribution hints, dates) and coverage gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from auditor.config import Config
from auditor.models import Artifact, Coverage


@dataclass
class SourceOptions:
    follow_symlinks: bool = False
    excludes: list[str] = field(default_factory=list)
    deep: bool = False  # sniff every file, not only those whose name leaves it open
    as_of: date | None = None
    progress: Callable[[Coverage], None] | None = None
    s3: dict[str, Any] = field(default_factory=dict)  # profile, region, endpoint_url, role_arns
    jobs: int = 1  # processes for a local walk; large trees are shared out when > 1
    one_file_system: bool = False  # a local walk stays on each target's filesystem (find -xdev)


class Source(Protocol):
    def scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        """Yield artifacts under `target`, streaming; record every unexamined place in coverage.gaps."""
        ...


SourceFactory = Callable[[Config, SourceOptions], Source]
