"""S3 Inventory benchmark: scanning a bucket through a 1,000,000-row inventory, against listing it.

A moto S3 server runs in a child process on 127.0.0.1. The scanned bucket holds --bucket-objects
real objects (default 100,000): every 100th of the inventory's rows is a real recording (fixture
media), and the first rows' documents are real too. The inventory (CSV gzip, or --format ORC /
Parquet, in AWS's layout with manifest.json and manifest.checksum, split into --files data files)
lists --rows objects (default 1,000,000, 1% recordings) with Size, LastModifiedDate, StorageClass,
EncryptionStatus, ObjectAccessControlList and ObjectOwner. The documents past the bucket's own
objects exist only in the inventory: their names settle that they are not media, so neither
path would make a call for them. The objects are put straight into the server's store inside the
child; every call of the benchmark goes over HTTP.

Measured in one run, against the same server, each in a fresh process (so peak RSS is its own):
1. the scan through the inventory (`--inventory s3://inv/inventories/`);
2. the scan by listing of the same bucket (--bucket-objects objects, the same recordings);
3. a bare ListObjectsV2 pagination of that bucket, timed per 1,000 keys, to extrapolate the
   listing of --rows keys (said so in the table: the bucket listed is smaller than the inventory).

Targets: 0 list calls on the scanned bucket; at most 1 GET per candidate (the inventory's own
files are counted apart, as inventory:s3.GetObject); every recording found; peak RSS of the
inventory scan at most 400 MB. Prints a table, writes docs/benchmarks.md "## S3 Inventory", exits 1
when a target is missed.

    python bench/bench_inventory.py                                   # 1,000,000 rows
    python bench/bench_inventory.py --rows 200000 --bucket-objects 20000   # a quick run
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import moto_child  # bench/ is the script's own folder
from benchdoc import write_section

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MEDIA = REPO / "tests" / "fixtures" / "media"
DOC = REPO / "docs" / "benchmarks.md"
BUCKET = "bench-practice"
DEST = "bench-inventory"
ACCOUNT = "123456789012"
RECORDING_EVERY = 100  # 1%
FIXTURES = ("session.wav", "session.m4a", "session.mp3", "session.ogg", "session.webm", "session.flac")
DOCUMENT_EXTENSIONS = ("pdf", "txt", "json", "jpg", "docx")
FIELDS = (
    "Bucket",
    "Key",
    "Size",
    "LastModifiedDate",
    "ETag",
    "StorageClass",
    "EncryptionStatus",
    "ObjectAccessControlList",
    "ObjectOwner",
)
MAX_RSS_MB = 400
OWNER = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
PRIVATE_ACL = base64.b64encode(
    json.dumps(
        {
            "version": "2022-11-10",
            "status": "AVAILABLE",
            "grants": [{"canonicalId": OWNER, "permission": "FULL_CONTROL", "type": "CanonicalUser"}],
        }
    ).encode()
).decode()


def key_for(i: int) -> tuple[str, str | None]:
    """The i-th row's key, and the fixture it holds when it is a recording."""
    if i % RECORDING_EVERY == RECORDING_EVERY // 2:
        fixture = FIXTURES[(i // RECORDING_EVERY) % len(FIXTURES)]
        return f"practice/{i:07d}{Path(fixture).suffix}", fixture
    return f"practice/{i:07d}.{DOCUMENT_EXTENSIONS[i % len(DOCUMENT_EXTENSIONS)]}", None


# --- the server child ---------------------------------------------------------------------------


def _data_file(fmt: str, rows: list[list[Any]]) -> bytes:
    if fmt == "CSV":
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows(rows)
        return gzip.compress(text.getvalue().encode(), compresslevel=6, mtime=0)
    import pyarrow as pa

    names = ["bucket", "key", "size", "last_modified_date", "e_tag", "storage_class", "encryption_status"]
    names += ["object_access_control_list", "object_owner"]
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(col, type=pa.int64() if n == "size" else pa.string())
        for n, col in zip(names, columns, strict=True)
    ]
    table = pa.table(dict(zip(names, arrays, strict=True)))
    sink = io.BytesIO()
    if fmt == "Parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    else:
        import pyarrow.orc as orc

        orc.write_table(table, sink)
    return sink.getvalue()


def serve(rows: int, bucket_objects: int, files: int, fmt: str) -> None:
    """Child process: start moto, fill the bucket and write the inventory, print the URL, live
    until stdin closes."""
    from moto.s3.models import s3_backends

    server, url, s3 = moto_child.start()
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=DEST)
    backend = s3_backends[ACCOUNT]["aws"]
    media = {name: (MEDIA / name).read_bytes() for name in FIXTURES}
    modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    created = datetime.now(UTC) + timedelta(minutes=1)
    folder = f"inventories/{BUCKET}/daily/"
    extension = {"CSV": "csv.gz", "ORC": "orc", "Parquet": "parquet"}[fmt]
    entries = []
    per_file = -(-rows // files)
    for n in range(files):  # one data file's rows at a time: the child stays small too
        table: list[list[Any]] = []
        for i in range(n * per_file, min((n + 1) * per_file, rows)):
            key, fixture = key_for(i)
            body = media[fixture] if fixture else b"not media"
            if fixture is not None or i < bucket_objects:
                backend.put_object(BUCKET, key, body)
            etag = hashlib.md5(body).hexdigest()
            table.append([BUCKET, key, len(body), modified, etag, "STANDARD", "NOT-SSE", PRIVATE_ACL, OWNER])
        data = _data_file(fmt, table)
        data_key = f"{folder}data/{n:08d}-bench.{extension}"
        backend.put_object(DEST, data_key, data)
        entries.append({"key": data_key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()})
    schema = ", ".join(FIELDS)
    if fmt != "CSV":
        schema = "struct<bucket:string,key:string,size:bigint,last_modified_date:string,e_tag:string,"
        schema += "storage_class:string,encryption_status:string,object_access_control_list:string,"
        schema += "object_owner:string>"
    manifest = json.dumps(
        {
            "sourceBucket": BUCKET,
            "destinationBucket": f"arn:aws:s3:::{DEST}",
            "version": "2016-11-30",
            "creationTimestamp": str(int(created.timestamp() * 1000)),
            "fileFormat": fmt,
            "fileSchema": schema,
            "files": entries,
        }
    ).encode()
    stamp = created.strftime("%Y-%m-%dT%H-%MZ")
    backend.put_object(DEST, f"{folder}{stamp}/manifest.json", manifest)
    backend.put_object(DEST, f"{folder}{stamp}/manifest.checksum", hashlib.md5(manifest).hexdigest().encode())
    moto_child.serve_until_stdin_closes(server, url)


# --- one measurement, in its own process --------------------------------------------------------


def measure(url: str, how: str) -> None:
    """Child process: one scan (or the bare listing); prints its figures as JSON."""
    from auditor.config import Config
    from auditor.models import Coverage
    from auditor.sources.base import SourceOptions
    from auditor.sources.s3.source import S3Source

    started = time.perf_counter()
    if how == "bare-listing":
        import boto3
        from botocore.config import Config as BotoConfig

        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            config=BotoConfig(s3={"addressing_style": "path"}),
        )
        pages = keys = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            pages += 1
            keys += len(page.get("Contents", []))
        out: dict[str, Any] = {"seconds": time.perf_counter() - started, "pages": pages, "keys": keys}
    else:
        settings: dict[str, Any] = {"endpoint_url": url}
        if how == "inventory":
            settings["inventory"] = f"s3://{DEST}/inventories/"
        coverage = Coverage()
        source = S3Source(Config(), SourceOptions(), settings)
        recordings = sum(1 for a in source.scan(f"s3://{BUCKET}", coverage) if a.kind == "recording")
        out = {
            "seconds": time.perf_counter() - started,
            "recordings": recordings,
            "seen": coverage.files_seen,
            "candidates": coverage.candidates,
            "calls": coverage.api_calls,
            "gaps": [g.reason for g in coverage.gaps if g.reason != "inventory-snapshot"],
            "inventories": coverage.inventories,
        }
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, default=str), flush=True)


def run_measure(url: str, how: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", how, "--url", url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{how} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bucket-objects", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--format", choices=("CSV", "ORC", "Parquet"), default="CSV")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.rows, args.bucket_objects, args.files, args.format)
        return 0
    if args.measure:
        measure(args.url, args.measure)
        return 0

    env = dict(
        os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    print(
        f"filling moto: {args.bucket_objects:,} objects, an inventory of {args.rows:,} rows ...", flush=True
    )
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--rows",
            str(args.rows),
            "--bucket-objects",
            str(args.bucket_objects),
            "--files",
            str(args.files),
            "--format",
            args.format,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            print("the moto server did not start", file=sys.stderr)
            return 1
        fill_seconds = time.perf_counter() - started
        env["AWS_ENDPOINT_URL_STS"] = env["AWS_ENDPOINT_URL_S3_CONTROL"] = url
        run_measure(url, "bare-listing", env)  # warm the server's listing path once, untimed
        bare = run_measure(url, "bare-listing", env)
        via = run_measure(url, "inventory", env)
        listed = run_measure(url, "listing", env)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=120)

    recordings = len(range(RECORDING_EVERY // 2, args.rows, RECORDING_EVERY))
    calls = via["calls"]
    list_calls = calls.get("s3.ListObjectsV2", 0) + calls.get("s3.ListObjectVersions", 0)
    gets = calls.get("s3.GetObject", 0)
    per_page = bare["seconds"] / max(bare["pages"], 1)
    rows_pages = -(-args.rows // 1000)
    extra_pages = max(rows_pages - bare["pages"], 0)
    listing_equivalent = listed["seconds"] + extra_pages * per_page
    (inv,) = via["inventories"]
    checks = [
        ("recordings found", f"{via['recordings']:,} of {recordings:,}", via["recordings"] == recordings),
        ("rows read", f"{inv['rows']:,} of {args.rows:,}", inv["rows"] == args.rows),
        ("list calls on the scanned bucket", f"{list_calls}", list_calls == 0),
        (
            "GETs per candidate",
            f"{gets / max(via['candidates'], 1):.2f} ({gets:,} / {via['candidates']:,})",
            gets <= via["candidates"],
        ),
        ("coverage gaps (besides the snapshot's)", f"{len(via['gaps'])}", not via["gaps"]),
        ("peak RSS of the inventory scan", f"{via['rss_mb']:.0f} MB", via["rss_mb"] <= MAX_RSS_MB),
    ]
    lines = [
        f"{args.rows:,} inventory rows ({args.format}, {args.files} data files), {recordings:,} recordings; "
        f"the bucket holds {args.bucket_objects:,} objects plus the recordings past them; "
        f"filled in {fill_seconds:.0f} s (not timed below)",
        "",
        "| Run (each in its own process) | Wall time | Peak RSS |",
        "|---|---:|---:|",
        f"| scan through the inventory ({args.rows:,} rows) | {via['seconds']:.1f} s | {via['rss_mb']:.0f} MB |",
        f"| scan by listing the bucket ({listed['seen']:,} keys) | {listed['seconds']:.1f} s | "
        f"{listed['rss_mb']:.0f} MB |",
        f"| bare ListObjectsV2 of the bucket ({bare['pages']} pages) | {bare['seconds']:.1f} s | "
        f"{bare['rss_mb']:.0f} MB |",
        f"| listing scan extrapolated to {args.rows:,} keys (+{extra_pages} pages at "
        f"{per_page * 1000:.0f} ms each, from the bare listing) | {listing_equivalent:.1f} s | |",
        "",
        f"Inventory scan / listing scan of {args.rows:,} keys (extrapolated): "
        f"**{via['seconds'] / listing_equivalent:.2f}x**; / listing scan of the {listed['seen']:,}-key bucket "
        f"as measured: {via['seconds'] / listed['seconds']:.2f}x.",
        "",
        "| API calls | through the inventory | by listing |",
        "|---|---:|---:|",
        *[
            f"| `{op}` | {calls.get(op, 0):,} | {listed['calls'].get(op, 0):,} |"
            for op in sorted(set(calls) | set(listed["calls"]))
        ],
        "",
        "| Target | Measured | Met |",
        "|---|---:|:---:|",
        *[f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks],
    ]
    print("\n".join(lines))
    if not args.no_doc:
        section = (
            "## S3 Inventory\n\n"
            f"`python bench/bench_inventory.py --rows {args.rows} --bucket-objects {args.bucket_objects} "
            f"--files {args.files} --format {args.format}` on {date.today().isoformat()}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (other work shares the "
            "machine: moto's times grow with it). Server: moto (S3 over HTTP on 127.0.0.1, its own "
            "process). The bucket keeps legacy ACLs, so the listing path reads each recording's ACL and the "
            "inventory path takes it from ObjectAccessControlList.\n\n"
            + "\n".join(lines)
            + "\n\nReading the figures: the listing was measured on a bucket "
            f"{args.rows // max(args.bucket_objects, 1)}x smaller than the inventory and extrapolated per "
            "page of 1,000 keys from a bare listing of the same bucket in the same run; the documents past "
            "the bucket's own objects cost neither path a per-object call (their names settle it), only the "
            "listing its list calls. Both scans make the "
            "same ranged GET per recording: those 1% of the rows, served by moto, not the inventory's "
            "million rows, set most of the inventory scan's time. The inventory's own files are counted apart "
            f"(`inventory:s3.*`): the manifest, its checksum, each data file, and "
            f"{calls.get('inventory:s3.ListObjectsV2', 0)} delimited listings of the destination to find the "
            "newest manifest (none when --inventory names the manifest.json).\n"
        )
        write_section(section)
        print(f"\nwrote {DOC.relative_to(REPO)} (section S3 Inventory)")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
