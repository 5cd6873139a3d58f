"""`--shard I/N`: a deterministic 1/N of a scan's work, so N machines (or N CI jobs) can share one
audit and `auditor merge` can put it back together (docs/scale.md).

The work is cut into units: each top-level entry of a local folder target (the target's own
regular files are one unit together, so a recording and its sidecars stay in one shard), and
each S3 bucket. A unit belongs to the shard its name hashes to. Hashing each name on its own,
rather than dealing sorted names out in turn, means a folder created or deleted between two
shards' runs moves no other folder: no unit is ever scanned twice or missed because the tree
changed while the shards ran. The price is balance: with few units some shards get more.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

ROOT_FILES = ""  # the unit of a folder target's own regular files
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

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
        return shard_of(unit, self.count) == self.index

    def to_dict(self, units: int, other_units: int) -> dict[str, Any]:
        """The result's `coverage.shard`: which shard this was and how much of the work it took."""
        return {
            "index": self.index,
            "count": self.count,
            "spec": self.spec,
            "units": units,
            "units_in_other_shards": other_units,
            "unit": "local: each top-level entry of a folder target (its own files together); s3: each bucket",
        }


def shard_of(unit: str, count: int) -> int:
    """The 1-based shard a unit belongs to: the same on every machine and every Python (no hash seed)."""
    digest = hashlib.blake2b(unit.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1
