"""Content-based recognition of recordings, transcripts, encrypted recordings and key material.

The caller reads the first HEAD_BYTES of a file (only for names where needs_sniff() is true) and
calls classify(); for media, embedded_created() can then read the container's own creation time.
"""

from auditor.classify.dates import embedded_created
from auditor.classify.model import HEAD_BYTES, LOOK_FURTHER_BUDGET, Classification
from auditor.classify.names import needs_sniff
from auditor.classify.ranges import RangeReader
from auditor.classify.sniff import classify

__all__ = [
    "HEAD_BYTES",
    "LOOK_FURTHER_BUDGET",
    "Classification",
    "RangeReader",
    "classify",
    "embedded_created",
    "needs_sniff",
]
