"""`auditor scan s3://bucket --inventory ...`: S3 Inventory reports in place of listing.

The inventories are written by tests/inventory_files.py in the layout AWS documents (S3 User
Guide, "Locating your inventory list": destination-prefix/source-bucket/config-ID/
YYYY-MM-DDTHH-MMZ/manifest.json + manifest.checksum, the MD5 of manifest.json; data/ files in
CSV (gzip), ORC or Parquet, fileSchema naming the columns), from the bucket's real state on a
moto server, into a destination bucket on the same server.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import REPO, run_cli, scan_json
from tests.conftest_s3 import MEDIA, S3World, moto_url, s3world
from tests.inventory_files import CSV_FIELDS, bucket_rows, csv_gz, write_inventory

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

LIST_CALLS = {"s3.ListObjectsV2", "s3.ListObjectVersions"}


def scan(tmp_path: Path, world: S3World, *args: str, expect: int | None = None) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return scan_json(tmp_path, *args, "--endpoint-url", world.url, expect=expect)


def findings(result: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["location"], f["fingerprint"]) for f in result["findings"]}


def recordings(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keep = ("location", "encrypted", "encryption", "media", "format", "size", "mtime", "exposures", "facts")
    return {r["location"]: {k: r.get(k) for k in keep} for r in result["recordings"]}


def clinic(w: S3World) -> None:
    """A versioned bucket with Object Lock: recordings plain and SSE-S3, one readable by anyone
    through its object ACL, one under legal hold, an overwritten one and a deleted one, and files
    that are no recording."""
    w.bucket("clinic", object_lock=True, ownership="ObjectWriter")
    w.bucket("inv")
    w.put("clinic", "sessions/2026/C-101 intake.wav", "session.wav")
    w.put("clinic", "sessions/2026/C-102.m4a", "session.m4a", ServerSideEncryption="AES256")
    w.put("clinic", "sessions/open/é session.mp3", "session-bare.mp3", ACL="public-read")
    w.put("clinic", "sessions/held/a+b.wav", "session.wav", ObjectLockLegalHoldStatus="ON")
    w.put("clinic", "sessions/old.wav", "session.wav")
    w.put("clinic", "sessions/old.wav", body=b"not a recording any more")
    w.put("clinic", "sessions/gone.m4a", "session.m4a")
    w.s3.delete_object(Bucket="clinic", Key="sessions/gone.m4a")
    w.put("clinic", "notes/agenda.txt", "agenda.txt")
    w.put("clinic", "site/logo.png", body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)


@pytest.mark.parametrize("fmt", ["CSV", "ORC", "Parquet"])
def test_an_inventory_scan_finds_what_the_listing_finds_without_listing(
    tmp_path: Path, s3world: S3World, fmt: str
) -> None:
    """Same findings and the same facts per recording as a listing of the same bucket, with no
    list call and no per-object ACL call (the inventory's ObjectAccessControlList, "Working with
    the Object ACL field", carries it), and the snapshot's date in the coverage."""
    w = s3world
    clinic(w)
    listed = scan(tmp_path / "listed", w, "s3://clinic")
    rows = list(bucket_rows(w.s3, "clinic", versions=True))
    snapshot = datetime.now(UTC) + timedelta(minutes=1)  # every object is older than the snapshot
    written = write_inventory(w.s3, "clinic", "inv", rows, fmt=fmt, created=snapshot)
    via = scan(tmp_path / "via", w, "s3://clinic", "--inventory", "s3://inv/inventories/")

    assert findings(via) == findings(listed) and findings(listed)
    assert recordings(via) == recordings(listed)
    assert len(recordings(via)) >= 4  # the noncurrent version of old.wav and the deleted gone.m4a too
    calls = via["coverage"]["api_calls"]
    assert not LIST_CALLS & set(calls), calls
    assert "s3.GetObjectAcl" not in calls and listed["coverage"]["api_calls"]["s3.GetObjectAcl"] >= 4
    assert calls["s3.GetObject"] == listed["coverage"]["api_calls"]["s3.GetObject"]  # one per candidate
    assert calls["inventory:s3.GetObject"] == 3  # manifest.json, manifest.checksum, one data file
    (entry,) = via["coverage"]["inventories"]
    assert entry["manifest"] == f"s3://inv/{written.manifest_key}"
    assert (
        entry["snapshot"] == datetime.fromtimestamp(int(snapshot.timestamp() * 1000) / 1000, UTC).isoformat()
    )
    assert entry["format"] == fmt and entry["versions"] == "all" and entry["rows"] == len(rows)
    bucket = next(b for b in via["buckets"] if b["location"] == "s3://clinic")
    assert bucket["facts"]["delete_markers"] == 1
    schema = json.loads((REPO / "auditor" / "schemas" / "result.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(via)


def test_keys_are_url_decoded_and_unquoted_csv_reads_too(tmp_path: Path, s3world: S3World) -> None:
    """CSV keys are URL-encoded (S3 User Guide, "Amazon S3 Inventory list": "the key name is
    URL-encoded and must be decoded"): a space written "+", a literal "+" as %2B, UTF-8 as %XX."""
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    names = ["a b/c+d.wav", "ünïcødé/séance 1.wav"]
    for name in names:
        w.put("box", name, "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    fields = tuple(f for f in CSV_FIELDS if f not in ("VersionId", "IsLatest", "IsDeleteMarker"))
    body = csv_gz(rows, fields, quote_all=False)
    assert b"a+b%2Fc%2Bd.wav" in __import__("gzip").decompress(body)
    write_inventory(
        w.s3,
        "box",
        "inv",
        rows,
        fields=fields,
        data_bytes=[body],
        created=datetime.now(UTC) + timedelta(minutes=1),
    )
    result = scan(tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/box/daily/")
    assert sorted(r["facts"]["key"] for r in result["recordings"]) == sorted(names)
    assert not LIST_CALLS & set(result["coverage"]["api_calls"])


def test_a_manifest_whose_checksum_fails_is_passed_over_for_the_previous_one(
    tmp_path: Path, s3world: S3World
) -> None:
    """manifest.checksum is the MD5 of manifest.json ("Locating your inventory list"): a newer
    manifest that does not match is a gap naming it, and the previous inventory is read."""
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    older = datetime.now(UTC) + timedelta(minutes=1)
    good = write_inventory(w.s3, "box", "inv", rows, created=older)
    bad = write_inventory(w.s3, "box", "inv", rows, created=older + timedelta(days=1), bad_checksum=True)
    result = scan(tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/")
    (entry,) = result["coverage"]["inventories"]
    assert entry["manifest"] == f"s3://inv/{good.manifest_key}"
    assert entry["passed_over"] == [f"s3://inv/{bad.manifest_key}"]
    gap = next(g for g in result["coverage"]["skipped"] if g["location"] == f"s3://inv/{bad.manifest_key}")
    assert gap["reason"] == "inventory-invalid" and "manifest.checksum" in gap["detail"]
    assert [r["facts"]["key"] for r in result["recordings"]] == ["s.wav"]


def test_with_no_usable_manifest_the_bucket_is_listed_and_the_coverage_says_why(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    bad = write_inventory(w.s3, "box", "inv", rows, bad_checksum=True)
    result = scan(tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/")
    (entry,) = result["coverage"]["inventories"]
    assert entry["used"] is False and "could be used" in entry["reason"]
    assert result["coverage"]["api_calls"]["s3.ListObjectsV2"] == 1
    assert [r["facts"]["key"] for r in result["recordings"]] == ["s.wav"]
    assert any(g["location"] == f"s3://inv/{bad.manifest_key}" for g in result["coverage"]["skipped"])


def test_a_missing_data_file_and_a_malformed_row_are_gaps_naming_them(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    for i in range(4):
        w.put("box", f"s{i}.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    rows[0]["Size"] = "12kB"  # not a number of bytes
    written = write_inventory(
        w.s3, "box", "inv", rows, files=2, created=datetime.now(UTC) + timedelta(minutes=1)
    )
    w.s3.delete_object(Bucket="inv", Key=written.data_keys[1])
    result = scan(tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/")
    gaps = {g["location"]: g for g in result["coverage"]["skipped"]}
    missing = gaps[f"s3://inv/{written.data_keys[1]}"]
    assert missing["reason"] == "vanished" and "were not seen" in missing["detail"]
    (row_gap,) = [g for g in gaps.values() if g["reason"] == "inventory-malformed-row"]
    assert row_gap["location"] == f"s3://inv/{written.data_keys[0]}#row=1"
    assert "Size is '12kB'" in row_gap["detail"]
    # the first data file holds s0 (malformed) and s2; s1 and s3 were in the missing one
    assert [r["facts"]["key"] for r in result["recordings"]] == ["s2.wav"]


def test_objects_newer_than_the_snapshot_are_a_gap_or_listed_within_the_bound(
    tmp_path: Path, s3world: S3World
) -> None:
    """An inventory lists the objects as of creationTimestamp, when S3 began scanning the bucket
    ("Inventory manifest"): later objects are either found by a bounded listing or named in a gap."""
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "old.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, created=datetime.now(UTC) + timedelta(seconds=1))
    import time

    time.sleep(2.1)
    w.put("box", "new.wav", "session.wav")
    w.put("box", "old.wav", "session.m4a")  # overwritten since the snapshot: the listing's is current

    unseen = scan(tmp_path / "a", w, "s3://box", "--inventory", "s3://inv/inventories/")
    assert [r["facts"]["key"] for r in unseen["recordings"]] == ["old.wav"]
    (gap,) = [g for g in unseen["coverage"]["skipped"] if g["reason"] == "inventory-snapshot"]
    assert "were not seen" in gap["detail"] and gap["location"] == "s3://box/"

    seen = scan(
        tmp_path / "b", w, "s3://box", "--inventory", "s3://inv/inventories/", "--inventory-list-pages", "1"
    )
    assert sorted(r["facts"]["key"] for r in seen["recordings"]) == ["new.wav", "old.wav"]
    old = next(r for r in seen["recordings"] if r["facts"]["key"] == "old.wav")
    assert old["size"] == (MEDIA / "session.m4a").stat().st_size  # the object now, not the snapshot's wav
    assert not [g for g in seen["coverage"]["skipped"] if g["reason"] == "inventory-snapshot"]
    (entry,) = seen["coverage"]["inventories"]
    assert entry["newer_than_snapshot"] == {"pages_listed": 1, "objects": 2, "complete": True}
    # the terminal says they were listed, not "see the coverage section" for a gap that is not there
    said = run_cli("scan", "s3://box", "--endpoint-url", w.url, "--inventory", "s3://inv/inventories/",
                   "--inventory-list-pages", "1", "-o", tmp_path / "c.json", "-o", tmp_path / "c.html",
                   "--fail-on", "none").output  # fmt: skip
    assert "rows); objects written since: listed (2)." in said
    # and the report's coverage section names the snapshot the audit rests on
    page = (tmp_path / "c.html").read_text()
    when = datetime.fromisoformat(entry["snapshot"]).strftime("%Y-%m-%d %H:%M UTC")
    assert f"s3://box</code> — read from its S3 Inventory of {when} (1 row, CSV)" in page
    assert "the objects written since were listed (2)" in page


def test_auto_finds_the_buckets_own_inventory_configuration(tmp_path: Path, s3world: S3World) -> None:
    """--inventory auto: ListBucketInventoryConfigurations names the destination bucket, prefix
    and format (S3 API Reference, InventoryConfiguration / InventoryS3BucketDestination)."""
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    w.s3.put_bucket_inventory_configuration(
        Bucket="box",
        Id="weekly-all",
        InventoryConfiguration={
            "Id": "weekly-all",
            "IsEnabled": True,
            "IncludedObjectVersions": "Current",
            "Destination": {
                "S3BucketDestination": {
                    "Bucket": "arn:aws:s3:::inv",
                    "Format": "Parquet",
                    "Prefix": "reports",
                }
            },
            "Schedule": {"Frequency": "Weekly"},
            "OptionalFields": ["Size", "LastModifiedDate", "StorageClass", "EncryptionStatus"],
        },
    )
    rows = list(bucket_rows(w.s3, "box", versions=False))
    fields = tuple(f for f in CSV_FIELDS if f not in ("VersionId", "IsLatest", "IsDeleteMarker"))
    write_inventory(
        w.s3,
        "box",
        "inv",
        rows,
        fmt="Parquet",
        prefix="reports",
        config_id="weekly-all",
        fields=fields,
        created=datetime.now(UTC) + timedelta(minutes=1),
    )
    result = scan(tmp_path, w, "s3://box", "--inventory", "auto")
    (entry,) = result["coverage"]["inventories"]
    assert entry["config_id"] == "weekly-all" and entry["manifest"].startswith(
        "s3://inv/reports/box/weekly-all/"
    )
    assert [r["facts"]["key"] for r in result["recordings"]] == ["s.wav"]
    assert result["coverage"]["api_calls"]["s3.ListBucketInventoryConfigurations"] == 1


def test_shards_split_an_inventory_by_data_file_and_merge_into_one_scan(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    for i in range(8):
        w.put("box", f"s{i}.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, files=4, created=datetime.now(UTC) + timedelta(minutes=1))
    whole = scan(tmp_path / "whole", w, "s3://box", "--inventory", "s3://inv/inventories/")
    seen: list[str] = []
    parts = []
    for i in (1, 2, 3):
        part = scan(
            tmp_path / str(i), w, "s3://box", "--inventory", "s3://inv/inventories/", "--shard", f"{i}/3"
        )
        seen += [r["facts"]["key"] for r in part["recordings"]]
        assert not LIST_CALLS & set(part["coverage"]["api_calls"])
        parts.append(tmp_path / str(i) / "result.json")
    assert sorted(seen) == [f"s{i}.wav" for i in range(8)]  # each object in exactly one shard
    units = [json.loads(p.read_text())["coverage"]["shard"]["units"] for p in parts]
    assert sum(units) == 5  # four data files and the listing of what is newer
    merged_path = tmp_path / "merged.json"
    res = run_cli("merge", *parts, "-o", merged_path)
    assert res.exit_code in (0, 1), res.output
    merged = json.loads(merged_path.read_text())
    assert {f["fingerprint"] for f in merged["findings"]} == {f["fingerprint"] for f in whole["findings"]}
    assert len(merged["buckets"]) == 1
    # the snapshot the audit rests on is said once, as the single scan says it (it was in the scopes only)
    assert merged["coverage"]["inventories"] == whole["coverage"]["inventories"]
    assert "S3 Inventory: s3://box read from the inventory of" in res.output


def test_bad_inventory_options_are_usage_errors(tmp_path: Path, s3world: S3World) -> None:
    res = run_cli("scan", "s3://box", "--endpoint-url", s3world.url, "--inventory", "inv/prefix")
    assert res.exit_code == 2 and "--inventory" in res.output and "Traceback" not in res.output
    res = run_cli(
        "scan",
        "s3://box",
        "--endpoint-url",
        s3world.url,
        "--inventory",
        "auto",
        "--inventory-list-pages",
        "x",
    )
    assert res.exit_code == 2 and "--inventory-list-pages" in res.output
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\nsources:\n  s3:\n    inventory: auto\n    inventory_pages: 3\n")
    res = run_cli("scan", "s3://box", "--config", config)
    assert res.exit_code == 2 and "inventory_pages" in res.output and ":5" in res.output


def test_config_section_sets_the_inventory(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    write_inventory(
        w.s3,
        "box",
        "inv",
        list(bucket_rows(w.s3, "box", versions=False)),
        created=datetime.now(UTC) + timedelta(minutes=1),
    )
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\nsources:\n  s3:\n    inventory: s3://inv/inventories/\n")
    result = scan(tmp_path, w, "s3://box", "--config", str(config))
    assert result["coverage"]["inventories"][0]["used"] is True
    assert not LIST_CALLS & set(result["coverage"]["api_calls"])


def test_every_call_an_inventory_scan_makes_is_in_the_documented_policy(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/s3.md's read-only policy covers --inventory auto: s3:GetInventoryConfiguration, and
    s3:ListBucket and s3:GetObject on the inventory's destination."""
    from auditor.sources.s3.permissions import OPERATION_ACTIONS
    from tests.test_s3_calls import CallRecorder, documented_actions

    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    w.s3.put_bucket_inventory_configuration(
        Bucket="box",
        Id="daily",
        InventoryConfiguration={
            "Id": "daily",
            "IsEnabled": True,
            "IncludedObjectVersions": "Current",
            "Destination": {
                "S3BucketDestination": {
                    "Bucket": "arn:aws:s3:::inv",
                    "Format": "CSV",
                    "Prefix": "inventories",
                }
            },
            "Schedule": {"Frequency": "Daily"},
        },
    )
    write_inventory(w.s3, "box", "inv", list(bucket_rows(w.s3, "box", versions=False)))
    recorder = CallRecorder(monkeypatch)
    result = scan(tmp_path, w, "s3://box", "--inventory", "auto", "--inventory-list-pages", "1")
    assert result["coverage"]["inventories"][0]["used"] is True
    assert {action for _, action in recorder.calls} <= documented_actions()
    reported = set(result["coverage"]["api_calls"])
    assert {op for op in OPERATION_ACTIONS if "nventory" in op} <= reported <= set(OPERATION_ACTIONS)


def test_a_planner_gets_the_inventorys_data_files_as_units(
    s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3Source.units (the --executor planner's view) names the same units the scan shards by."""
    from auditor.config import Config
    from auditor.models import Coverage
    from auditor.sources.base import SourceOptions
    from auditor.sources.s3.source import S3Source

    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    written = write_inventory(w.s3, "box", "inv", list(bucket_rows(w.s3, "box", versions=False)), files=2)
    source = S3Source(
        Config(), SourceOptions(), {"endpoint_url": w.url, "inventory": "s3://inv/inventories/"}
    )
    units = source.units("s3://box", Coverage())
    assert units == [f"s3://box#inventory/{key}" for key in written.data_keys] + ["s3://box#inventory-newer"]


def test_orc_and_parquet_without_pyarrow_stop_with_the_extra_to_install(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    fields = tuple(f for f in CSV_FIELDS if f not in ("VersionId", "IsLatest", "IsDeleteMarker"))
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, fmt="Parquet", fields=fields)
    monkeypatch.setitem(
        sys.modules, "pyarrow", None
    )  # `import pyarrow` now fails as when it is not installed
    res = run_cli("scan", "s3://box", "--endpoint-url", w.url, "--inventory", "s3://inv/inventories/")
    assert res.exit_code == 2, res.output
    assert "pip install 'recording-auditor[inventory]'" in res.output and "Traceback" not in res.output


def test_a_current_only_inventory_of_a_versioned_bucket_says_noncurrent_versions_were_not_seen(
    tmp_path: Path, s3world: S3World
) -> None:
    """IncludedObjectVersions Current: no VersionId/IsLatest columns ("Amazon S3 Inventory list")."""
    w = s3world
    w.bucket("box", versioned=True)
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    w.put("box", "s.wav", "session.m4a")
    fields = tuple(f for f in CSV_FIELDS if f not in ("VersionId", "IsLatest", "IsDeleteMarker"))
    rows = [r for r in bucket_rows(w.s3, "box", versions=True) if r["IsLatest"]]
    write_inventory(w.s3, "box", "inv", rows, fields=fields)
    result = scan(tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/")
    assert [r["location"] for r in result["recordings"]] == ["s3://box/s.wav"]
    (gap,) = [g for g in result["coverage"]["skipped"] if g["reason"] == "inventory-current-only"]
    assert "noncurrent versions" in gap["detail"]
    assert result["coverage"]["inventories"][0]["versions"] == "current"


def test_dask_runs_one_task_per_inventory_data_file_and_equals_one_scan(
    tmp_path: Path, s3world: S3World
) -> None:
    """`--executor dask` (a real LocalCluster, 2 worker processes) with --inventory: the planner's
    units are the data files (and the listing of newer objects), one task each."""
    w = s3world
    w.bucket("box", acl="public-read")
    w.bucket("inv")
    for i in range(6):
        w.put("box", f"c{i}/s.wav", "session.wav", ACL="public-read" if i % 2 else "private")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, files=3, created=datetime.now(UTC) + timedelta(minutes=1))
    args = ("s3://box", "--inventory", "s3://inv/inventories/", "--fail-on", "critical")
    whole = scan(tmp_path / "whole", w, *args)
    fanned = scan(tmp_path / "dask", w, *args, "--executor", "dask", expect=1)
    assert {f["fingerprint"] for f in fanned["findings"]} == {f["fingerprint"] for f in whole["findings"]}
    assert sorted(r["location"] for r in fanned["recordings"]) == sorted(
        r["location"] for r in whole["recordings"]
    )
    assert fanned["coverage"]["executor"]["tasks"] == 3 + 1 + 1  # data files, newer objects, the rest
    assert fanned["coverage"]["inventories"] == whole["coverage"]["inventories"]
    assert not LIST_CALLS & set(fanned["coverage"]["api_calls"])


def test_a_data_file_that_fails_its_md5_is_not_used_and_a_named_manifest_needs_no_listing(
    tmp_path: Path, s3world: S3World
) -> None:
    """Each files[] entry's MD5checksum ("Inventory manifest") is checked before any row is used:
    a file replaced since is a gap and none of its rows is read; one that is not gzip at all too."""
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    for i in range(3):
        w.put("box", f"s{i}.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    written = write_inventory(
        w.s3, "box", "inv", rows, files=3, created=datetime.now(UTC) + timedelta(minutes=1)
    )
    tampered = csv_gz([dict(rows[0], Key="planted.wav")], CSV_FIELDS)
    w.s3.put_object(Bucket="inv", Key=written.data_keys[0], Body=tampered)
    result = scan(tmp_path, w, "s3://box", "--inventory", f"s3://inv/{written.manifest_key}")
    gaps = {g["location"]: g for g in result["coverage"]["skipped"]}
    gap = gaps[f"s3://inv/{written.data_keys[0]}"]
    assert gap["reason"] == "inventory-checksum" and "the manifest says" in gap["detail"]
    assert sorted(r["facts"]["key"] for r in result["recordings"]) == ["s1.wav", "s2.wav"]
    calls = result["coverage"]["api_calls"]
    assert "inventory:s3.ListObjectsV2" not in calls and not LIST_CALLS & set(calls)
    assert result["coverage"]["inventories"][0]["files_read"] == 2


def test_the_terminal_summary_says_which_inventory_was_read_or_why_none(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    write_inventory(w.s3, "box", "inv", list(bucket_rows(w.s3, "box", versions=False)))
    base = ("scan", "s3://box", "--endpoint-url", w.url, "-o", tmp_path / "r.json", "--inventory")
    used = run_cli(*base, "s3://inv/inventories/")
    assert "S3 Inventory: s3://box read from the inventory of 20" in used.output and "(1 rows)" in used.output
    unused = run_cli(*base, "s3://inv/elsewhere/")
    assert "S3 Inventory NOT used for s3://box (listed instead): no inventory of box under" in unused.output


def test_several_configurations_under_a_prefix_must_be_named_and_auto_without_one_lists(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put("box", "s.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, config_id="daily")
    write_inventory(w.s3, "box", "inv", rows, config_id="weekly")
    res = run_cli("scan", "s3://box", "--endpoint-url", w.url, "--inventory", "s3://inv/inventories/")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert (
        "2 configurations (daily, weekly): name one, e.g. --inventory s3://inv/inventories/box/daily/"
        in res.output
    )
    named = scan(tmp_path / "named", w, "s3://box", "--inventory", "s3://inv/inventories/box/weekly/")
    assert "/box/weekly/" in named["coverage"]["inventories"][0]["manifest"]
    auto = scan(tmp_path / "auto", w, "s3://box", "--inventory", "auto")  # no configuration on the bucket
    (entry,) = auto["coverage"]["inventories"]
    assert entry == {"bucket": "box", "used": False, "reason": entry["reason"]}
    assert "no enabled inventory configuration" in entry["reason"]
    assert auto["coverage"]["api_calls"]["s3.ListObjectsV2"] == 1


def test_a_bounded_listing_that_stops_short_names_the_last_key_it_reached(
    tmp_path: Path, s3world: S3World
) -> None:
    """ListObjectsV2 returns up to 1,000 keys a page, in UTF-8 binary order (S3 API Reference,
    ListObjectsV2): N pages reach the first N x 1,000 keys, and the gap says where they stopped."""
    import time

    w = s3world
    w.bucket("box")
    w.bucket("inv")
    w.put_many("box", [f"a/{i:04d}.txt" for i in range(1000)])
    w.put("box", "m/old.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False, acl=False))
    write_inventory(w.s3, "box", "inv", rows, created=datetime.now(UTC) + timedelta(seconds=1))
    time.sleep(2.1)
    w.put("box", "z/new.wav", "session.wav")
    result = scan(
        tmp_path, w, "s3://box", "--inventory", "s3://inv/inventories/", "--inventory-list-pages", "1"
    )
    assert [r["facts"]["key"] for r in result["recordings"]] == ["m/old.wav"]
    (gap,) = [g for g in result["coverage"]["skipped"] if g["reason"] == "inventory-snapshot"]
    assert "with keys after 'a/0999.txt'" in gap["detail"] and "stopped after 1 page(s)" in gap["detail"]
    assert result["coverage"]["inventories"][0]["newer_than_snapshot"] == {
        "pages_listed": 1,
        "objects": 0,
        "complete": False,
    }
    assert result["coverage"]["api_calls"]["s3.ListObjectsV2"] == 1


def test_auto_without_s3_get_inventory_configuration_is_a_gap_and_the_bucket_is_listed(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused ListBucketInventoryConfigurations is a coverage gap naming the permission."""
    from moto.s3.responses import S3Response

    denied = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message></Error>"
    )
    monkeypatch.setattr(S3Response, "list_bucket_inventory_configurations", lambda self: (403, {}, denied))
    w = s3world
    w.bucket("box")
    w.put("box", "s.wav", "session.wav")
    result = scan(tmp_path, w, "s3://box", "--inventory", "auto")
    (gap,) = [g for g in result["coverage"]["skipped"] if g["location"] == "s3://box"]
    assert gap["reason"] == "access-denied" and "s3:GetInventoryConfiguration denied" in gap["detail"]
    assert "the bucket was listed instead" in gap["detail"]
    assert [r["facts"]["key"] for r in result["recordings"]] == ["s.wav"]
    assert result["coverage"]["inventories"][0]["used"] is False
