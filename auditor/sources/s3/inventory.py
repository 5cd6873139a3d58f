"""S3 Inventory in place of listing: one bucket's latest inventory turned into the listing's entries.

`--inventory s3://dest/prefix/` (or `auto`: the bucket's own inventory configuration) makes the
S3 source read the newest inventory whose manifest passes its checksum instead of listing the
bucket. Each row becomes the same ObjectEntry a listing gives (plus what the row says of the
object's encryption, Object Lock and ACL), so the rest of the scan, and every rule, is unchanged.

An inventory is a snapshot taken when S3 began scanning the bucket (the manifest's
creationTimestamp). Objects written since may be missing: `inventory_list_pages` N > 0 lists up to
N pages (N x 1,000 keys, in key order: S3 has no "modified since" filter) of the bucket and takes
from them every object modified since the snapshot; whatever that listing did not reach is a gap
naming the date. With N = 0 (the default) there is no listing at all, and the gap says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.models import Coverage, Gap
from auditor.shard import Shard
from auditor.sources.s3.bucket_facts import BucketFacts
from auditor.sources.s3.client import AccountAccess
from auditor.sources.s3.errors import CALL_ERRORS, call_problem, run_problem
from auditor.sources.s3.inventory_manifest import (
    DataFile,
    InventoryLocation,
    Manifest,
    NoInventory,
    configured_location,
    latest_manifest,
)
from auditor.sources.s3.inventory_rows import (
    PYARROW_MISSING,
    InventoryEntry,
    InventoryRow,
    RowError,
    download,
    rows,
)
from auditor.sources.s3.listing import ObjectEntry, check_continued

AUTO = "auto"
MAX_ROW_GAPS = 100  # malformed rows reported one by one per file; past that, one gap counts the rest


def shard_unit(bucket: str, data: DataFile) -> str:
    """--shard I/N of one bucket read through its inventory: each data file is a unit (auditor.shard)."""
    return f"s3://{bucket}#inventory/{data.key}"


def newer_unit(bucket: str) -> str:
    """...and the bounded listing of objects newer than the inventory is one more."""
    return f"s3://{bucket}#inventory-newer"


@dataclass
class InventoryRun:
    """One bucket's inventory as this scan reads it; `to_dict` is its `coverage.inventories` entry."""

    bucket: str
    manifest: Manifest
    config_id: str | None
    files: list[DataFile]  # this shard's data files
    list_pages: int
    owns_newer: bool  # this shard lists what is newer than the snapshot
    files_read: int = 0
    rows: int = 0
    delete_markers: int = 0
    bytes_downloaded: int = 0
    newer: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "bucket": self.bucket,
            "used": True,
            "manifest": m.url,
            "config_id": self.config_id,
            "snapshot": m.created.isoformat(),
            "format": m.file_format,
            "versions": "all" if m.versions else "current",
            "files": len(m.files),
            "files_in_shard": len(self.files),
            "files_read": self.files_read,
            "rows": self.rows,
            "bytes_downloaded": self.bytes_downloaded,
            "passed_over": list(m.fallbacks),
            "newer_than_snapshot": dict(self.newer),
        }


def open_run(
    account: AccountAccess,
    facts: BucketFacts,
    prefix: str,
    setting: str,
    list_pages: int,
    shard: Shard | None,
    coverage: Coverage,
) -> InventoryRun | None:
    """The bucket's latest usable inventory, or None (the caller lists the bucket) with the reason
    in coverage.inventories and, for an inventory that exists but cannot be used, in a gap."""
    s3 = account.inventory_s3(facts.region)
    where = f"s3://{facts.name}"
    config_id: str | None = None
    manifest: Manifest | None = None
    reason = ""
    try:
        if setting == AUTO:
            reason = f"the bucket has no enabled inventory configuration covering {prefix or 'the bucket'!r}"
            for found_id, location in configured_location(account.s3(facts.region), facts.name, prefix):
                try:
                    manifest = latest_manifest(s3, location, facts.name, coverage.gaps)
                    config_id = found_id
                    break
                except NoInventory as exc:
                    reason = str(exc)
        else:
            manifest = latest_manifest(s3, InventoryLocation.parse(setting), facts.name, coverage.gaps)
    except NoInventory as exc:
        reason = str(exc)
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        operation = (
            "s3.ListBucketInventoryConfigurations" if setting == AUTO else "inventory:s3.ListObjectsV2"
        )
        problem = call_problem(exc, operation)
        reason = f"{problem.detail}: the inventory could not be found"
        coverage.gaps.append(Gap(where, problem.reason, f"{reason}; the bucket was listed instead"))
    if manifest is None:
        coverage.inventories.append({"bucket": facts.name, "used": False, "reason": reason})
        return None
    if manifest.file_format != "CSV":
        try:
            import pyarrow  # noqa: F401  (the optional extra `inventory`)
        except ImportError:
            from auditor.errors import InputError

            raise InputError(manifest.url, PYARROW_MISSING.format(fmt=manifest.file_format)) from None
    mine = [f for f in manifest.files if shard is None or shard.owns(shard_unit(facts.name, f))]
    owns_newer = shard is None or shard.owns(newer_unit(facts.name))
    if shard is not None:
        coverage.shard_units += len(mine) + owns_newer
        coverage.shard_other_units += len(manifest.files) - len(mine) + (not owns_newer)
    if facts.versioned and not manifest.versions:
        coverage.gaps.append(
            Gap(
                where,
                "inventory-current-only",
                f"{manifest.url} lists current versions only: the bucket's noncurrent versions "
                "(deleted or overwritten recordings) were not seen",
            )
        )
    return InventoryRun(facts.name, manifest, config_id, mine, list_pages, owns_newer)


def units(account: AccountAccess, bucket: str, prefix: str, setting: str) -> list[str]:
    """The --shard units of one bucket read through its inventory, for a planner that gives each
    its own task; [] when the inventory cannot be found here (the scan itself then says why)."""
    s3 = account.inventory_s3()
    gaps: list[Gap] = []
    try:
        if setting == AUTO:
            locations = [loc for _, loc in configured_location(account.s3(), bucket, prefix)]
        else:
            locations = [InventoryLocation.parse(setting)]
        for location in locations:
            try:
                manifest = latest_manifest(s3, location, bucket, gaps)
            except NoInventory:
                continue
            return [shard_unit(bucket, f) for f in manifest.files] + [newer_unit(bucket)]
    except CALL_ERRORS:
        pass
    except ValueError:  # a URL that does not parse: the scan refuses it with the reason
        pass
    return []


def entries(
    run: InventoryRun, s3: Any, inventory_s3: Any, prefix: str, coverage: Coverage
) -> Iterator[ObjectEntry]:
    """What the listing would give: objects newer than the snapshot first (the bounded listing),
    then the inventory's rows under `prefix`, data file by data file."""
    fresh: set[str] = set()
    if run.owns_newer:
        yield from _newer(run, s3, prefix, fresh, coverage)
    for data in run.files:
        yield from _file_entries(run, inventory_s3, data, prefix, fresh, coverage)


def _newer(
    run: InventoryRun, s3: Any, prefix: str, fresh: set[str], coverage: Coverage
) -> Iterator[ObjectEntry]:
    snapshot = run.manifest.created
    where = f"s3://{run.bucket}/{prefix}"
    pages, last_key, complete = 0, None, False
    if run.list_pages > 0:
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=run.bucket, Prefix=prefix):
                check_continued(page, "s3.ListObjectsV2", "NextContinuationToken")
                pages += 1
                for item in page.get("Contents") or []:
                    entry = ObjectEntry.from_listing(item)
                    last_key = entry.key
                    if entry.last_modified is not None and entry.last_modified >= snapshot:
                        fresh.add(entry.key)
                        yield entry
                if not page.get("IsTruncated"):
                    complete = True  # the listing ended within the bound
                    break
                if pages >= run.list_pages:
                    break
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            problem = call_problem(exc, "s3.ListObjectsV2")
            coverage.gaps.append(Gap(where, problem.reason, f"{problem.detail}: the bounded listing stopped"))
    run.newer = {"pages_listed": pages, "objects": len(fresh), "complete": complete}
    if not complete:
        beyond = f" with keys after {last_key!r}" if last_key else ""
        how = (
            f"the bounded listing stopped after {pages} page(s)"
            if run.list_pages
            else "set inventory_list_pages (--inventory-list-pages N) to list up to N x 1,000 keys for them"
        )
        coverage.gaps.append(
            Gap(
                where,
                "inventory-snapshot",
                f"objects written after {snapshot.isoformat()} (the inventory's snapshot){beyond} "
                f"were not seen: {how}",
            )
        )


def _file_entries(
    run: InventoryRun, s3: Any, data: DataFile, prefix: str, fresh: set[str], coverage: Coverage
) -> Iterator[ObjectEntry]:
    where = f"s3://{run.manifest.bucket}/{data.key}"
    lost = f"the objects it lists in s3://{run.bucket} were not seen"
    try:
        stream = download(s3, run.manifest.bucket, data)
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "inventory:s3.GetObject")
        coverage.gaps.append(Gap(where, problem.reason, f"{problem.detail}: {lost}"))
        return
    except ValueError as exc:
        coverage.gaps.append(Gap(where, "inventory-checksum", f"{exc}: file not used; {lost}"))
        return
    with stream:
        run.bytes_downloaded += stream.seek(0, 2)
        stream.seek(0)
        run.files_read += 1
        bad = 0
        group: list[InventoryRow] = []
        try:
            for number, row in rows(stream, run.manifest):
                if isinstance(row, RowError):
                    bad += 1
                    if bad <= MAX_ROW_GAPS:
                        coverage.gaps.append(
                            Gap(
                                f"{where}#row={number}",
                                "inventory-malformed-row",
                                f"row {number}: {row}: skipped",
                            )
                        )
                    continue
                run.rows += 1
                if row.bucket not in (None, run.bucket) or not row.key.startswith(prefix):
                    continue
                if group and group[0].key != row.key:
                    yield from _versions(run, group, fresh)
                    group = []
                group.append(row)
            yield from _versions(run, group, fresh)
        except ValueError as exc:
            coverage.gaps.append(Gap(where, "inventory-unreadable", f"{exc}: the rest of the file not read"))
        if bad > MAX_ROW_GAPS:
            coverage.gaps.append(
                Gap(where, "inventory-malformed-row", f"{bad - MAX_ROW_GAPS} more malformed rows skipped")
            )


def _versions(run: InventoryRun, group: list[InventoryRow], fresh: set[str]) -> Iterator[ObjectEntry]:
    """One key's rows as the listing's entries: newest first, as ListObjectVersions gives them, so
    that a noncurrent version knows when it was superseded and whether the key is deleted. (AWS
    writes a key's versions together; one split across two data files loses those two facts.)"""
    if not group:
        return
    group.sort(key=lambda r: (not r.is_latest, -(r.last_modified.timestamp() if r.last_modified else 0.0)))
    newer: datetime | None = None
    deleted = False
    for row in group:
        latest = row.is_latest
        if latest and row.is_delete_marker:
            deleted = True
        since = None if latest else newer
        newer = row.last_modified
        if row.is_delete_marker:
            run.delete_markers += 1
            continue
        if latest and row.key in fresh:
            continue  # the bounded listing gave its state since the snapshot
        noncurrent = not latest and run.manifest.versions
        yield InventoryEntry(
            key=row.key,
            size=row.size,
            last_modified=row.last_modified,
            etag=_quoted(row.etag),
            storage_class=row.storage_class,
            version_id=row.version_id if noncurrent else None,
            noncurrent=noncurrent,
            noncurrent_since=since if noncurrent else None,
            deleted=deleted,
            inventory=row.facts,
        )


def _quoted(etag: str | None) -> str | None:
    """The inventory writes the ETag bare; listings and GETs quote it."""
    if etag is None or etag.startswith('"'):
        return etag
    return f'"{etag}"'
