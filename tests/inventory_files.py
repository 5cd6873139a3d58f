"""S3 Inventory reports written the way AWS writes them, from a bucket's real state on the test
server, into a destination bucket on the same server (tests and bench/bench_inventory.py).

Layout, manifest and fields follow the S3 User Guide: "Locating your inventory list"
(destination-prefix/source-bucket/config-ID/YYYY-MM-DDTHH-MMZ/manifest.json, manifest.checksum =
MD5 of manifest.json, data/ files), "Inventory manifest" (sourceBucket, destinationBucket, version,
creationTimestamp in epoch milliseconds, fileFormat, fileSchema, files[{key, size, MD5checksum}]),
"Amazon S3 Inventory list" (the fields; CSV keys URL-encoded; EncryptionStatus SSE-S3 | SSE-KMS |
DSSE-KMS | SSE-C | NOT-SSE) and "Working with the Object ACL field" (base64 of JSON
{version, status, grants[{type, uri | canonicalId, permission}]}).
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

CSV_FIELDS = (
    "Bucket",
    "Key",
    "VersionId",
    "IsLatest",
    "IsDeleteMarker",
    "Size",
    "LastModifiedDate",
    "ETag",
    "StorageClass",
    "EncryptionStatus",
    "BucketKeyStatus",
    "ObjectLockRetainUntilDate",
    "ObjectLockMode",
    "ObjectLockLegalHoldStatus",
    "ObjectAccessControlList",
    "ObjectOwner",
)
_ARROW_NAMES = {
    "Bucket": "bucket",
    "Key": "key",
    "VersionId": "version_id",
    "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker",
    "Size": "size",
    "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag",
    "StorageClass": "storage_class",
    "EncryptionStatus": "encryption_status",
    "BucketKeyStatus": "bucket_key_status",
    "ObjectLockRetainUntilDate": "object_lock_retain_until_date",
    "ObjectLockMode": "object_lock_mode",
    "ObjectLockLegalHoldStatus": "object_lock_legal_hold_status",
    "ObjectAccessControlList": "object_access_control_list",
    "ObjectOwner": "object_owner",
}
_STATUS = {None: "NOT-SSE", "AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}


@dataclass
class Written:
    manifest_key: str
    data_keys: list[str]
    folder: str  # destination-prefix/source-bucket/config-ID/


def acl_field(grants: list[dict[str, Any]]) -> str:
    """GetObjectAcl's grants as the inventory's ObjectAccessControlList field."""
    out = []
    for g in grants:
        grantee = g.get("Grantee") or {}
        if grantee.get("Type") == "Group":
            out.append({"uri": grantee.get("URI"), "permission": g["Permission"], "type": "Group"})
        else:
            out.append(
                {"canonicalId": grantee.get("ID"), "permission": g["Permission"], "type": "CanonicalUser"}
            )
    doc = {"version": "2022-11-10", "status": "AVAILABLE", "grants": out}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def bucket_rows(s3: Any, bucket: str, *, versions: bool, acl: bool = True) -> Iterator[dict[str, Any]]:
    """One dict per object (or version, or delete marker) with the inventory's fields, read
    through the S3 API as S3 itself would fill them."""
    if versions:
        items: list[tuple[dict[str, Any], bool]] = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            items += [(v, False) for v in page.get("Versions") or []]
            items += [(m, True) for m in page.get("DeleteMarkers") or []]
        items.sort(key=lambda p: (p[0]["Key"], not p[0].get("IsLatest"), -p[0]["LastModified"].timestamp()))
    else:
        items = [
            (o, False)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents") or []
        ]
    for item, marker in items:
        row: dict[str, Any] = {
            "Bucket": bucket,
            "Key": item["Key"],
            "VersionId": item.get("VersionId") if versions else None,
            "IsLatest": bool(item.get("IsLatest", True)),
            "IsDeleteMarker": marker,
            "Size": None if marker else int(item.get("Size", 0)),
            "LastModifiedDate": item["LastModified"],
            "ETag": None if marker else str(item.get("ETag", "")).strip('"'),
            "StorageClass": None if marker else item.get("StorageClass", "STANDARD"),
        }
        if not marker:
            params = {"Bucket": bucket, "Key": item["Key"]}
            if versions:
                params["VersionId"] = item["VersionId"]
            head = s3.head_object(**params)
            row["EncryptionStatus"] = _STATUS.get(head.get("ServerSideEncryption"), "NOT-SSE")
            row["BucketKeyStatus"] = "ENABLED" if head.get("BucketKeyEnabled") else "DISABLED"
            row["ObjectLockRetainUntilDate"] = head.get("ObjectLockRetainUntilDate")
            row["ObjectLockMode"] = head.get("ObjectLockMode")
            row["ObjectLockLegalHoldStatus"] = head.get("ObjectLockLegalHoldStatus")
            if acl:
                answer = s3.get_object_acl(**params)
                row["ObjectAccessControlList"] = acl_field(answer.get("Grants") or [])
                row["ObjectOwner"] = (answer.get("Owner") or {}).get("ID")
        yield row


def _csv_value(field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if field == "Key":
        return quote_plus(str(value), safe="")  # AWS URL-encodes CSV keys ("+" for a space)
    return str(value)


def csv_gz(rows: Iterable[dict[str, Any]], fields: tuple[str, ...], *, quote_all: bool = True) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n")
    for row in rows:
        writer.writerow([_csv_value(f, row.get(f)) for f in fields])
    return gzip.compress(text.getvalue().encode("utf-8"), mtime=0)


def arrow_table(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> Any:
    import pyarrow as pa

    types = {
        "IsLatest": pa.bool_(),
        "IsDeleteMarker": pa.bool_(),
        "Size": pa.int64(),
        "LastModifiedDate": pa.timestamp("ms", tz="UTC"),
        "ObjectLockRetainUntilDate": pa.timestamp("ms", tz="UTC"),
    }
    columns = {}
    for f in fields:
        typ = types.get(f, pa.string())
        columns[_ARROW_NAMES[f]] = pa.array([r.get(f) for r in rows], type=typ)
    return pa.table(columns)


def file_schema(fmt: str, fields: tuple[str, ...]) -> str:
    if fmt == "CSV":
        return ", ".join(fields)
    kinds = {"IsLatest": "boolean", "IsDeleteMarker": "boolean", "Size": "bigint"}
    kinds |= {"LastModifiedDate": "timestamp", "ObjectLockRetainUntilDate": "timestamp"}
    if fmt == "ORC":
        return "struct<" + ",".join(f"{_ARROW_NAMES[f]}:{kinds.get(f, 'string')}" for f in fields) + ">"
    parts = "; ".join(
        f"optional {'boolean' if kinds.get(f) == 'boolean' else 'int64' if f in ('Size',) else 'binary'} "
        f"{_ARROW_NAMES[f]}" + (" (STRING)" if f not in kinds else "")
        for f in fields
    )
    return "message s3.inventory { " + parts + "; }"


def data_file(fmt: str, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> bytes:
    if fmt == "CSV":
        return csv_gz(rows, fields)
    table = arrow_table(rows, fields)
    sink = io.BytesIO()
    if fmt == "Parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink, row_group_size=50_000)
    else:
        import pyarrow.orc as orc

        orc.write_table(table, sink, stripe_size=4 * 1024 * 1024)
    return sink.getvalue()


def write_inventory(
    s3: Any,
    source: str,
    dest: str,
    rows: list[dict[str, Any]],
    *,
    fmt: str = "CSV",
    prefix: str = "inventories",
    config_id: str = "daily",
    created: datetime | None = None,
    fields: tuple[str, ...] = CSV_FIELDS,
    files: int = 1,
    bad_checksum: bool = False,
    data_bytes: list[bytes] | None = None,
) -> Written:
    """One published inventory: data files, manifest.json and manifest.checksum."""
    created = created or datetime.now(UTC)
    folder = f"{prefix}/{source}/{config_id}/" if prefix else f"{source}/{config_id}/"
    extension = {"CSV": "csv.gz", "ORC": "orc", "Parquet": "parquet"}[fmt]
    chunks = [rows[i::files] for i in range(files)] if files > 1 else [rows]
    chunks = [sorted(c, key=lambda r: r["Key"]) for c in chunks]
    entries, keys = [], []
    for index, chunk in enumerate(chunks):
        body = data_bytes[index] if data_bytes else data_file(fmt, chunk, fields)
        key = f"{folder}data/{uuid.UUID(int=index + 1)}.{extension}"
        s3.put_object(Bucket=dest, Key=key, Body=body)
        entries.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
        keys.append(key)
    manifest = {
        "sourceBucket": source,
        "destinationBucket": f"arn:aws:s3:::{dest}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(created.timestamp() * 1000)),
        "fileFormat": fmt,
        "fileSchema": file_schema(fmt, fields),
        "files": entries,
    }
    body = json.dumps(manifest, indent=2).encode()
    date = created.astimezone(UTC).strftime("%Y-%m-%dT%H-%MZ")
    manifest_key = f"{folder}{date}/manifest.json"
    s3.put_object(Bucket=dest, Key=manifest_key, Body=body)
    checksum = hashlib.md5(body).hexdigest() if not bad_checksum else "0" * 32
    s3.put_object(Bucket=dest, Key=f"{folder}{date}/manifest.checksum", Body=checksum.encode())
    return Written(manifest_key, keys, folder)
