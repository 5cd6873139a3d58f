"""Bytes beyond the head, read on demand within a byte budget.

Some answers lie past the first HEAD_BYTES: an index written at the end of the file (MP4 `moov`,
a zip's central directory), a track list that outgrows the head. The caller hands over a
RangeReader; the detectors get those bytes through a Bytes, which serves what the head already
holds for free and charges everything else to a budget, so a file costs a few KiB at most.
"""

from __future__ import annotations

from typing import Protocol

from auditor.classify.model import HEAD_BYTES


class RangeReader(Protocol):
    size: int

    def read(self, offset: int, length: int) -> bytes: ...  # the caller accounts the bytes read


class Bytes:
    """The file's bytes: from the head when they are in it, otherwise from the reader within budget."""

    __slots__ = ("budget", "head", "reader", "size")

    def __init__(self, head: bytes, reader: RangeReader | None = None, budget: int = 0) -> None:
        self.head = head
        self.reader = reader
        self.budget = budget if reader is not None else 0
        self.size = reader.size if reader is not None else len(head)

    @property
    def whole_file_in_head(self) -> bool:
        """Without a reader the file's size is unknown: only a head shorter than HEAD_BYTES is whole."""
        if self.reader is None:
            return len(self.head) < HEAD_BYTES
        return self.size <= len(self.head)

    def get(self, offset: int, length: int) -> bytes | None:
        """Exactly `length` bytes at offset, or None (past the end, or over budget)."""
        if length <= 0 or offset < 0 or offset + length > self.size:
            return None
        if offset + length <= len(self.head):
            return self.head[offset : offset + length]
        if self.reader is None or length > self.budget:
            return None
        self.budget -= length
        data = self.reader.read(offset, length)
        return data if len(data) == length else None

    def upto(self, offset: int, length: int) -> bytes | None:
        """Up to `length` bytes at offset, fewer at the end of the file; None when out of reach."""
        if offset < 0 or offset >= self.size:
            return None
        return self.get(offset, min(length, self.size - offset))
