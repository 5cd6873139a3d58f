"""`--shard I/N`: a deterministic 1/N of a scan's work, so N machines (or N CI jobs) can share one
audit and `auditor merge` can put it back together (docs/scale.md).

The work is cut into units: each top-level entry of a local folder target (the target's own
regular files are one unit together, so a recording and its sidecars stay in one shard); each
bucket of an `s3://` target; and for an `s3://bucket[/prefix]` target, each "folder" right below
the prefix (a CommonPrefix of a listing with Delimiter="/"), with the keys at the prefix's own
level one unit together: the local folder rule, applied to keys. A unit belongs to the shard
its name hashes to. Hashing each name on its own, rather than dealing sorted names out in turn,
means a folder (or prefix) created or deleted between two shards' runs moves no other one: no
unit is ever scanned twice or missed because the tree changed while the shards ran. The price
is balance: with few units some shards get more.

Why prefixes and not fixed key-range boundaries ("a" to "f", "f" to "m"...): boundaries chosen
from one listing are not stable when keys are added (a new boundary would move keys between
shards), fixed ones ignore how keys are named (every session key of a practice starts with
"2024/", so they would all fall in one range), and either would split a folder, whose recordings
must stay with the key material beside them to judge HIPAA's safe harbor. Finding the prefixes
costs each shard one listing call per 1,000 of them. To split one level deeper, give the prefix
as the target (`s3://bucket/recordings/`).

A planner that runs one task per unit (auditor.executors, `--executor dask`) names the units it
planned: such a shard owns exactly those, and one more owns every unit not planned (created
since, or not known to the planner), so that nothing goes unscanned.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

ROOT_FILES = ""  # the unit of a folder target's own regular files
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


UNIT_TEXT = (
    "local: each top-level entry of a folder target (its own files together); s3://: each bucket; "
    "s3://bucket[/prefix]: each top-level prefix below it (the keys at its own level together)"
)


@dataclass(frozen=True)
class Shard:
    """This scan's part of a split audit (`--shard I/N`): which units (by hash, or listed) it takes."""

    index: int  # 1-based
    count: int
    # A planned task's shard (auditor.executors): exactly these units, or (rest) every unit but these.
    units: frozenset[str] | None = None
    rest: bool = False

    @classmethod
    def planned(cls, index: int, count: int, units: frozenset[str], *, rest: bool = False) -> Shard:
        """The shard of one planned task: `units`, or with `rest` every unit not in `units`."""
        return cls(index, count, units, rest)

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`I/N` with 1 <= I <= N; ValueError with the reason otherwise."""
        match = _SPEC.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not I/N (e.g. 2/5: the second of five shards)")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"{text!r}: I must be between 1 and N, and N at least 1")
        return cls(index, count)

    @property
    def spec(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, unit: str) -> bool:
        if self.units is not None:
            return (unit in self.units) != self.rest
        return shard_of(unit, self.count) == self.index

    def to_dict(self, units: int, other_units: int) -> dict[str, Any]:
        """The result's `coverage.shard`: which shard this was and how much of the work it took."""
        info: dict[str, Any] = {
            "index": self.index,
            "count": self.count,
            "spec": self.spec,
            "units": units,
            "units_in_other_shards": other_units,
            "unit": UNIT_TEXT,
        }
        if self.units is not None:
            info["planned"] = "every unit not planned" if self.rest else sorted(self.units)
        return info


def shard_of(unit: str, count: int) -> int:
    """The 1-based shard a unit belongs to: the same on every machine and every Python (no hash seed)."""
    digest = hashlib.blake2b(unit.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1
