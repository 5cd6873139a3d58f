"""Listing a bucket (or a prefix) one page of up to 1,000 keys at a time.

Unversioned buckets are listed with ListObjectsV2. When versioning is or was enabled, a single
ListObjectVersions listing replaces it: it returns current and noncurrent versions together, so
the deleted or overwritten recordings that still hold data cost no extra listing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor.sources.s3.errors import UnexpectedAnswer

NULL_VERSION = "null"  # the version id S3 gives objects written before versioning was enabled


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    size: int
    last_modified: datetime | None
    etag: str | None = None
    storage_class: str | None = None
    version_id: str | None = None  # set for noncurrent versions only (current objects are read without it)
    noncurrent: bool = False
    noncurrent_since: datetime | None = None  # when a newer version or a delete marker superseded it
    deleted: bool = False  # the key's latest version is a delete marker: the object looks deleted

    @classmethod
    def from_listing(cls, item: dict[str, Any], **more: Any) -> ObjectEntry:
        """An entry from a ListObjectsV2 or ListObjectVersions item (plus version facts, if any)."""
        return cls(
            key=item["Key"],
            size=int(item.get("Size", 0)),
            last_modified=item.get("LastModified"),
            etag=item.get("ETag"),
            storage_class=item.get("StorageClass"),
            **more,
        )

    def location(self, bucket: str) -> str:
        base = f"s3://{bucket}/{self.key}"
        return f"{base}?versionId={self.version_id}" if self.noncurrent else base


def _paging(bucket: str, prefix: str, delimiter: str | None) -> dict[str, str]:
    return {"Bucket": bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}


def list_current(
    s3: Any, bucket: str, prefix: str, delimiter: str | None = None
) -> Iterator[list[ObjectEntry]]:
    """Pages of current objects (ListObjectsV2); with `delimiter`, only the keys at this level."""
    for page in s3.get_paginator("list_objects_v2").paginate(**_paging(bucket, prefix, delimiter)):
        check_continued(page, "s3.ListObjectsV2", "NextContinuationToken")
        yield [ObjectEntry.from_listing(item) for item in page.get("Contents") or [] if "Key" in item]


def check_continued(page: Mapping[str, Any], operation: str, *tokens: str) -> None:
    """A truncated page without the token for the next one would end the listing silently (a
    store answering the v1 listing to a v2 request does that): refuse it, so that it is a gap."""
    if page.get("IsTruncated") and not any(page.get(t) for t in tokens):
        raise UnexpectedAnswer(operation=operation, detail=f"a truncated page without {' or '.join(tokens)}")


class _KeyHistory:
    """Walks one key's versions newest first, carried across page boundaries."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.newer_modified: datetime | None = None  # LastModified of the version just seen
        self.deleted = False

    def step(self, item: Mapping[str, Any], *, is_marker: bool) -> tuple[bool, datetime | None, bool]:
        """(noncurrent, noncurrent_since, deleted) for `item`, then remember it."""
        if item["Key"] != self.key:
            self.key, self.newer_modified, self.deleted = item["Key"], None, False
        latest = bool(item.get("IsLatest"))
        if latest and is_marker:
            self.deleted = True
        since = None if latest else self.newer_modified
        self.newer_modified = item.get("LastModified")
        return not latest, since, self.deleted


def list_versions(
    s3: Any, bucket: str, prefix: str, delimiter: str | None = None
) -> Iterator[tuple[list[ObjectEntry], int]]:
    """Pages of (object versions, number of delete markers). Delete markers hold no data; they
    only mark the versions below them as belonging to a deleted object. With `delimiter`, only
    the keys at this level."""
    history = _KeyHistory()
    for page in s3.get_paginator("list_object_versions").paginate(**_paging(bucket, prefix, delimiter)):
        check_continued(page, "s3.ListObjectVersions", "NextKeyMarker", "NextVersionIdMarker")
        versions = [(v, False) for v in page.get("Versions") or [] if "Key" in v]
        markers = [(m, True) for m in page.get("DeleteMarkers") or [] if "Key" in m]
        # S3 returns the two kinds in separate lists, each sorted by key then newest first;
        # merge them so each key's history reads newest first.
        merged = sorted(
            versions + markers,
            key=lambda pair: (
                pair[0]["Key"],
                not pair[0].get("IsLatest"),
                _neg_time(pair[0].get("LastModified")),
            ),
        )
        entries = []
        for item, is_marker in merged:
            noncurrent, since, deleted = history.step(item, is_marker=is_marker)
            if is_marker:
                continue
            entries.append(
                ObjectEntry.from_listing(
                    item,
                    version_id=item.get("VersionId") if noncurrent else None,
                    noncurrent=noncurrent,
                    noncurrent_since=since,
                    deleted=deleted,
                )
            )
        yield entries, len(markers)


def _neg_time(value: datetime | None) -> float:
    return -value.timestamp() if value is not None else 0.0


def top_prefixes(s3: Any, bucket: str, prefix: str, *, versioned: bool) -> list[str]:
    """The "folders" right below `prefix` (CommonPrefixes of a listing with Delimiter="/"),
    sorted. A versioned bucket is asked with ListObjectVersions, so that a prefix holding only
    noncurrent versions (deleted recordings that still hold data) is a unit too."""
    operation = "list_object_versions" if versioned else "list_objects_v2"
    found: set[str] = set()
    for page in s3.get_paginator(operation).paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        if versioned:
            check_continued(page, "s3.ListObjectVersions", "NextKeyMarker", "NextVersionIdMarker")
        else:
            check_continued(page, "s3.ListObjectsV2", "NextContinuationToken")
        found.update(p["Prefix"] for p in page.get("CommonPrefixes") or [] if p.get("Prefix"))
    return sorted(found)
