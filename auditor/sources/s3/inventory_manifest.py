"""Finding the latest S3 Inventory of a bucket and checking its manifest.

AWS publishes each inventory as (S3 User Guide, "Locating your inventory list")

    destination-prefix/source-bucket/config-ID/YYYY-MM-DDTHH-MMZ/manifest.json
    destination-prefix/source-bucket/config-ID/YYYY-MM-DDTHH-MMZ/manifest.checksum  (MD5 of manifest.json)
    destination-prefix/source-bucket/config-ID/data/<uuid>.csv.gz | .orc | .parquet

`--inventory` names the destination prefix, the source bucket's or the configuration's folder
under it, or one manifest.json. The newest manifest whose checksum matches is used; each one that
does not match (or cannot be read) is a gap naming it, and the next older one is tried.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.errors import InputError
from auditor.models import Gap
from auditor.sources.s3.errors import CALL_ERRORS, call_problem, run_problem

FORMATS = ("CSV", "ORC", "Parquet")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # a manifest lists files, not objects: a few KiB in practice
_DATE_FOLDER = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})Z$")


@dataclass(frozen=True)
class DataFile:
    key: str
    size: int | None
    md5: str | None  # MD5checksum from the manifest, where given


@dataclass
class Manifest:
    """One inventory: where it is, what it is of, and its data files."""

    bucket: str  # the destination bucket the files are in
    key: str  # of manifest.json
    source_bucket: str
    file_format: str  # CSV | ORC | Parquet
    columns: list[str]  # fileSchema's column names, as written (CSV: "Key"; ORC/Parquet: "key")
    files: list[DataFile]
    created: datetime  # creationTimestamp: when S3 began scanning the bucket for this inventory
    versions: bool  # the inventory lists every version (IsLatest/VersionId columns), not only current ones
    fallbacks: list[str] = field(default_factory=list)  # newer manifests passed over

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class InventoryLocation:
    bucket: str
    prefix: str  # "" or ending in "/", or a key ending in manifest.json

    @classmethod
    def parse(cls, url: str) -> InventoryLocation:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not bucket:
            raise ValueError(f"{url!r} is not s3://bucket/prefix/ (or auto)")
        if prefix and not prefix.endswith(("/", "manifest.json")):
            prefix += "/"
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def column_name(name: str) -> str:
    """The one spelling of a column: CSV says "LastModifiedDate", ORC and Parquet "last_modified_date"."""
    return name.replace("_", "").strip().lower()


def schema_columns(file_format: str, schema: str) -> list[str]:
    """fileSchema's column names. CSV: "Bucket, Key, Size, ..."; ORC: "struct<bucket:string,key:string,...>";
    Parquet: "message s3.inventory { required binary bucket (UTF8); optional int64 size; ... }"."""
    if file_format == "CSV":
        return [c.strip() for c in schema.split(",") if c.strip()]
    if file_format == "ORC":
        inner = schema.strip()
        inner = inner[inner.find("<") + 1 : inner.rfind(">")] if "<" in inner else inner
        return [part.split(":", 1)[0].strip() for part in inner.split(",") if ":" in part]
    body = schema[schema.find("{") + 1 : schema.rfind("}")] if "{" in schema else schema
    names = []
    for statement in body.split(";"):
        words = re.sub(r"\(.*?\)", " ", statement).split()
        if len(words) >= 3:
            names.append(words[-1])
    return names


def _text(s3: Any, bucket: str, key: str) -> bytes:
    response = s3.get_object(Bucket=bucket, Key=key)
    try:
        return bytes(response["Body"].read(MAX_MANIFEST_BYTES + 1))
    finally:
        response["Body"].close()


def _folders(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The immediate sub-folders of `prefix` (a delimited ListObjectsV2 of the destination)."""
    names: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes") or []:
            name = str(common.get("Prefix", ""))[len(prefix) :].rstrip("/")
            if name:
                names.append(name)
    return names


class NoInventory(Exception):
    """No usable inventory at the location: the reason, for the coverage."""


def config_folder(s3: Any, location: InventoryLocation, source_bucket: str) -> tuple[str, list[str]]:
    """The configuration's folder (ending in "/") and its date folders, newest first."""
    prefix = location.prefix
    for _ in range(3):  # the destination prefix, the source bucket's folder, the configuration's
        children = _folders(s3, location.bucket, prefix)
        dates = sorted((c for c in children if _DATE_FOLDER.match(c)), reverse=True)
        if dates:
            return prefix, dates
        if prefix.rstrip("/").rsplit("/", 1)[-1] == source_bucket:
            configs = sorted(c for c in children if c not in ("data", "hive"))
            if len(configs) > 1:
                raise InputError(
                    f"s3://{location.bucket}/{prefix}",
                    f"holds the inventories of {len(configs)} configurations ({', '.join(configs)}): "
                    f"name one, e.g. --inventory s3://{location.bucket}/{prefix}{configs[0]}/",
                )
            if not configs:
                break
            prefix = f"{prefix}{configs[0]}/"
        elif source_bucket in children:
            prefix = f"{prefix}{source_bucket}/"
        else:
            break
    raise NoInventory(f"no inventory of {source_bucket} under s3://{location.bucket}/{location.prefix}")


def latest_manifest(s3: Any, location: InventoryLocation, source_bucket: str, gaps: list[Gap]) -> Manifest:
    """The newest manifest of `source_bucket` at `location` that passes its checksum; every newer
    one passed over is a gap. NoInventory when there is none."""
    if location.prefix.endswith("manifest.json"):
        keys = [location.prefix]
    else:
        folder, dates = config_folder(s3, location, source_bucket)
        keys = [f"{folder}{date}/manifest.json" for date in dates]
    passed: list[str] = []
    for key in keys:
        where = f"s3://{location.bucket}/{key}"
        try:
            manifest = read_manifest(s3, location.bucket, key, source_bucket)
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            problem = call_problem(exc, "s3.GetObject")
            gaps.append(Gap(where, problem.reason, f"{problem.detail}: this inventory was not used"))
        except ValueError as exc:
            gaps.append(Gap(where, "inventory-invalid", f"{exc}: this inventory was not used"))
        else:
            manifest.fallbacks = passed
            return manifest
        passed.append(where)
    raise NoInventory(
        f"no inventory of {source_bucket} at {location.url} could be used"
        + (f" ({len(passed)} tried)" if passed else "")
    )


def read_manifest(s3: Any, bucket: str, key: str, source_bucket: str) -> Manifest:
    """manifest.json checked against manifest.checksum; ValueError saying what is wrong."""
    body = _text(s3, bucket, key)
    if len(body) > MAX_MANIFEST_BYTES:
        raise ValueError(f"manifest.json is larger than {MAX_MANIFEST_BYTES} bytes")
    checksum_key = key[: -len("manifest.json")] + "manifest.checksum"
    expected = _text(s3, bucket, checksum_key).decode("ascii", "replace").strip().lower()
    actual = hashlib.md5(body, usedforsecurity=False).hexdigest()
    if expected != actual:
        raise ValueError(f"manifest.json's MD5 is {actual}, manifest.checksum says {expected[:64]!r}")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"manifest.json is not JSON ({exc})") from None
    return parse_manifest(data, bucket, key, source_bucket)


def parse_manifest(data: Any, bucket: str, key: str, source_bucket: str) -> Manifest:
    if not isinstance(data, dict):
        raise ValueError("manifest.json is not a JSON object")
    if data.get("sourceBucket") != source_bucket:
        raise ValueError(
            f"manifest.json is the inventory of {data.get('sourceBucket')!r}, not {source_bucket!r}"
        )
    file_format = str(data.get("fileFormat", ""))
    if file_format not in FORMATS:
        raise ValueError(f"manifest.json: fileFormat {file_format!r} is not one of {', '.join(FORMATS)}")
    columns = schema_columns(file_format, str(data.get("fileSchema", "")))
    names = {column_name(c) for c in columns}
    if "key" not in names:
        raise ValueError(f"manifest.json: fileSchema {data.get('fileSchema')!r} has no Key column")
    files = []
    for index, item in enumerate(data.get("files") or []):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValueError(f"manifest.json: files[{index}] has no key")
        size = item.get("size")
        md5 = item.get("MD5checksum")
        files.append(
            DataFile(
                item["key"], int(size) if isinstance(size, int) else None, str(md5).lower() if md5 else None
            )
        )
    return Manifest(
        bucket=bucket,
        key=key,
        source_bucket=source_bucket,
        file_format=file_format,
        columns=columns,
        files=files,
        created=_created(data.get("creationTimestamp"), key),
        versions={"versionid", "islatest"} <= names,
    )


def _created(value: Any, key: str) -> datetime:
    """creationTimestamp is epoch milliseconds, as a string; else the date folder's name."""
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        pass
    folder = key.rstrip("/").rsplit("/", 2)[-2] if key.count("/") >= 1 else ""
    m = _DATE_FOLDER.match(folder)
    if m is None:
        raise ValueError("manifest.json has no creationTimestamp and is not in a YYYY-MM-DDTHH-MMZ folder")
    y, mo, d, h, mi = (int(g) for g in m.groups())
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def configured_location(s3: Any, bucket: str, scan_prefix: str) -> Iterator[tuple[str, InventoryLocation]]:
    """`--inventory auto`: the bucket's own inventory configurations (ListBucketInventoryConfigurations),
    best first: enabled, covering the scanned prefix, listing every version, most optional fields.
    Yields (config id, the configuration's folder)."""
    configs: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs = {"Bucket": bucket, **({"ContinuationToken": token} if token else {})}
        page = s3.list_bucket_inventory_configurations(**kwargs)
        configs.extend(page.get("InventoryConfigurationList") or [])
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break

    def usable(config: dict[str, Any]) -> bool:
        dest = (config.get("Destination") or {}).get("S3BucketDestination") or {}
        covers = scan_prefix.startswith(((config.get("Filter") or {}).get("Prefix")) or "")
        return bool(config.get("IsEnabled")) and dest.get("Format") in FORMATS and covers

    ranked = sorted(
        filter(usable, configs),
        key=lambda c: (
            c.get("IncludedObjectVersions") != "All",
            -len(c.get("OptionalFields") or []),
            str(c.get("Id")),
        ),
    )
    for config in ranked:
        dest = config["Destination"]["S3BucketDestination"]
        dest_bucket = str(dest.get("Bucket", "")).rsplit(":", 1)[-1]
        prefix = str(dest.get("Prefix") or "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        yield str(config.get("Id")), InventoryLocation(dest_bucket, f"{prefix}{bucket}/{config.get('Id')}/")
