"""Reading one S3 Inventory data file, row by row, in constant memory.

The file is copied to a temporary file while its MD5 is computed (the manifest's MD5checksum is
checked before any row is used; ORC and Parquet keep their index at the end anyway), then read:
CSV (gzip) with the standard library, ORC stripe by stripe and Parquet batch by batch with
pyarrow, the optional extra `inventory`. Field meanings: S3 User Guide, "Amazon S3 Inventory list".
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import gzip
import hashlib
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import unquote_plus

from auditor.errors import InputError
from auditor.sources.s3.inventory_manifest import DataFile, Manifest, column_name
from auditor.sources.s3.listing import ObjectEntry

CHUNK = 1024 * 1024
BATCH_ROWS = 8192
PYARROW_MISSING = (
    "reading {fmt} inventories needs pyarrow: pip install 'recording-auditor[inventory]' "
    "(or use an inventory in CSV format)"
)
# EncryptionStatus -> the x-amz-server-side-encryption value a GET would answer (None: not SSE).
SSE_BY_STATUS: dict[str, str | None] = {
    "SSE-S3": "AES256",
    "SSE-KMS": "aws:kms",
    "DSSE-KMS": "aws:kms:dsse",
    "NOT-SSE": None,
    "SSE-C": None,
}


@dataclass(frozen=True)
class InventoryFacts:
    """What the inventory row says beyond the listing's fields; None where it has no such column
    (or an empty one): the GET's answer, or the call the listing path makes, supplies it then."""

    encryption: str | None  # EncryptionStatus: SSE-S3 | SSE-KMS | DSSE-KMS | SSE-C | NOT-SSE
    bucket_key: bool | None  # BucketKeyStatus ENABLED
    lock_mode: str | None  # ObjectLockMode: GOVERNANCE | COMPLIANCE
    retain_until: datetime | None
    legal_hold: str | None  # ObjectLockLegalHoldStatus: ON | OFF
    acl_grants: tuple[dict[str, Any], ...] | None  # as GetObjectAcl answers them; None: not in the row
    owner: str | None

    def response(self) -> dict[str, Any]:
        """The headers a GET of the object would carry, as far as the row tells them."""
        answer: dict[str, Any] = {}
        sse = SSE_BY_STATUS.get(self.encryption or "")
        if sse:
            answer["ServerSideEncryption"] = sse
        if self.bucket_key:  # a GET carries the header only when it is enabled
            answer["BucketKeyEnabled"] = True
        if self.lock_mode:
            answer["ObjectLockMode"] = self.lock_mode
        if self.retain_until is not None:
            answer["ObjectLockRetainUntilDate"] = self.retain_until
        if self.legal_hold:
            answer["ObjectLockLegalHoldStatus"] = self.legal_hold
        return answer


@dataclass(frozen=True)
class InventoryEntry(ObjectEntry):
    """A listing entry that came from an inventory row, with what else the row says."""

    inventory: InventoryFacts | None = None


@dataclass(frozen=True)
class InventoryRow:
    bucket: str | None
    key: str
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool
    size: int
    last_modified: datetime | None
    etag: str | None
    storage_class: str | None
    facts: InventoryFacts


class RowError(ValueError):
    """One row that cannot be read: the message names the column."""


def download(s3: Any, bucket: str, data: DataFile) -> IO[bytes]:
    """The data file in a temporary file, its MD5 checked against the manifest's (ValueError)."""
    response = s3.get_object(Bucket=bucket, Key=data.key)
    digest = hashlib.md5(usedforsecurity=False)
    out = tempfile.TemporaryFile(prefix="auditor-inventory-")  # noqa: SIM115 (returned open)
    try:
        body = response["Body"]
        try:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        finally:
            body.close()
        if data.md5 and digest.hexdigest() != data.md5:
            raise ValueError(f"its MD5 is {digest.hexdigest()}, the manifest says {data.md5}")
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


def rows(stream: IO[bytes], manifest: Manifest) -> Iterator[tuple[int, InventoryRow | RowError]]:
    """(row number from 1, the row or why it cannot be read), in the file's order."""
    columns = [column_name(c) for c in manifest.columns]
    if manifest.file_format == "CSV":
        yield from _csv_rows(stream, columns)
    else:
        yield from _arrow_rows(stream, manifest.file_format)


def _csv_rows(stream: IO[bytes], columns: list[str]) -> Iterator[tuple[int, InventoryRow | RowError]]:
    try:
        text = io.TextIOWrapper(gzip.GzipFile(fileobj=stream), encoding="utf-8", newline="")
        for number, values in enumerate(csv.reader(text), 1):
            if len(values) != len(columns):
                yield number, RowError(f"{len(values)} fields where fileSchema names {len(columns)}")
                continue
            yield number, _row(dict(zip(columns, values, strict=True)), url_encoded=True)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:  # not gzip, cut short, not UTF-8
        raise ValueError(f"unreadable as gzip CSV ({type(exc).__name__}: {exc})") from None


def _arrow_rows(stream: IO[bytes], file_format: str) -> Iterator[tuple[int, InventoryRow | RowError]]:
    try:
        import pyarrow as pa
        import pyarrow.orc as orc
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("--inventory", PYARROW_MISSING.format(fmt=file_format)) from None
    number = 0
    try:
        if file_format == "Parquet":
            batches: Iterator[Any] = pq.ParquetFile(stream).iter_batches(batch_size=BATCH_ROWS)
        else:
            orc_file = orc.ORCFile(stream)
            batches = (orc_file.read_stripe(i) for i in range(orc_file.nstripes))
        for batch in batches:
            names = [column_name(n) for n in batch.schema.names]
            for record in batch.to_pylist():
                number += 1
                yield number, _row(dict(zip(names, record.values(), strict=True)), url_encoded=False)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"unreadable as {file_format} ({exc})") from None


def _row(raw: dict[str, Any], *, url_encoded: bool) -> InventoryRow | RowError:
    try:
        key = _text(raw.get("key"))
        if not key:
            raise RowError("Key is empty")
        if url_encoded:
            key = unquote_plus(key, errors="strict")  # CSV keys are URL-encoded ("+" for a space)
        marker = _flag(raw.get("isdeletemarker"), "IsDeleteMarker") or False
        size_value = _text(raw.get("size"))
        return InventoryRow(
            bucket=_text(raw.get("bucket")),
            key=key,
            version_id=_text(raw.get("versionid")),
            is_latest=_flag(raw.get("islatest"), "IsLatest") is not False,
            is_delete_marker=marker,
            size=_size(size_value) if size_value is not None else 0,
            last_modified=_time(raw.get("lastmodifieddate"), "LastModifiedDate"),
            etag=_text(raw.get("etag")),
            storage_class=_text(raw.get("storageclass")),
            facts=InventoryFacts(
                encryption=_encryption(raw.get("encryptionstatus")),
                bucket_key=_bucket_key(raw.get("bucketkeystatus")),
                lock_mode=_text(raw.get("objectlockmode")),
                retain_until=_time(raw.get("objectlockretainuntildate"), "ObjectLockRetainUntilDate"),
                legal_hold=_text(raw.get("objectlocklegalholdstatus")),
                acl_grants=_acl(raw.get("objectaccesscontrollist")),
                owner=_text(raw.get("objectowner")),
            ),
        )
    except RowError as exc:
        return exc
    except UnicodeDecodeError:
        return RowError("Key is not valid URL-encoded UTF-8")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _flag(value: Any, column: str) -> bool | None:
    if value is None or value == "" or isinstance(value, bool):
        return value if isinstance(value, bool) else None
    text = str(value).lower()
    if text not in ("true", "false"):
        raise RowError(f"{column} is {value!r}, not true or false")
    return text == "true"


def _size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        raise RowError(f"Size is {value!r}, not a number of bytes") from None
    if size < 0:
        raise RowError(f"Size is {size}")
    return size


def _time(value: Any, column: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int):  # epoch milliseconds
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"{column} is {str(value)[:40]!r}, not a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _encryption(value: Any) -> str | None:
    text = _text(value)
    if text is not None and text not in SSE_BY_STATUS:
        raise RowError(f"EncryptionStatus is {text[:40]!r}, not one of {', '.join(SSE_BY_STATUS)}")
    return text


def _bucket_key(value: Any) -> bool | None:
    text = _text(value)
    return None if text is None else text.upper() == "ENABLED"


def _acl(value: Any) -> tuple[dict[str, Any], ...] | None:
    """ObjectAccessControlList: base64 of JSON {version, status, grants: [{type, uri | canonicalId,
    permission}]} (S3 User Guide, "Working with the Object ACL field"), as GetObjectAcl's Grants."""
    text = _text(value)
    return None if text is None else _acl_grants(text)


@functools.lru_cache(maxsize=4096)
def _acl_grants(text: str) -> tuple[dict[str, Any], ...] | None:
    """Most objects of a bucket share one ACL: decoded once each (40% of a CSV row's cost otherwise).
    The grants are shared between rows and only ever read."""
    try:
        data = (
            json.loads(text)
            if text.lstrip().startswith("{")
            else json.loads(base64.b64decode(text, validate=True))
        )
    except (ValueError, binascii.Error):
        raise RowError("ObjectAccessControlList is not base64-encoded JSON") from None
    if not isinstance(data, dict):
        raise RowError("ObjectAccessControlList is not a JSON object")
    if data.get("status") != "AVAILABLE":
        return None  # UNAVAILABLE: S3 could not give it; the object ACL is read the usual way
    grants = []
    for grant in data.get("grants") or []:
        if not isinstance(grant, dict):
            raise RowError("ObjectAccessControlList has a grant that is not an object")
        grantee: dict[str, Any] = {"Type": grant.get("type")}
        if grant.get("uri"):
            grantee["URI"] = grant["uri"]
        if grant.get("canonicalId"):
            grantee["ID"] = grant["canonicalId"]
        grants.append({"Grantee": grantee, "Permission": grant.get("permission")})
    return tuple(grants)
