"""`--shard I/N` over S3 buckets on a real moto server, merged back by `auditor merge`."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.shard import shard_of
from tests.conftest import run_cli
from tests.conftest_s3 import ACCOUNT, S3World, moto_url, s3world
from tests.test_merge import essence

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

BUCKETS = ("clinic-a", "clinic-b", "clinic-c", "clinic-d", "clinic-e", "clinic-f")


def scan_to(tmp_path: Path, world: S3World, name: str, *args: str) -> Path:
    out = tmp_path / f"{name}.json"
    res = run_cli("scan", "-q", "--fail-on", "none", "s3://", "--endpoint-url", world.url, *args, "-o", out)
    assert res.exit_code == 0, res.output
    return out


def test_bucket_shards_merged_equal_one_scan_of_every_bucket(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    for i, name in enumerate(BUCKETS):
        w.bucket(name, **({"encryption": "AES256"} if i % 2 else {}))
        w.put(name, f"2023/client-{i}/session.wav", "session.wav")
        w.put(name, "notes/agenda.txt", "agenda.txt")
    whole = json.loads(scan_to(tmp_path, w, "whole").read_text())
    parts = [scan_to(tmp_path, w, f"shard{i}", "--shard", f"{i}/3") for i in (1, 2, 3)]
    shards = [json.loads(p.read_text()) for p in parts]
    for i, shard in enumerate(shards, 1):
        expected = {f"s3://{b}" for b in BUCKETS if shard_of(f"s3://{b}", 3) == i}
        assert {b["location"] for b in shard["buckets"]} == expected
        assert shard["coverage"]["shard"]["units"] == len(expected)
        # a bucket of another shard gets no call at all: only ListBuckets and the account's facts
        assert shard["coverage"]["api_calls"].get("s3.ListObjectsV2", 0) == len(expected)
    merged_path = tmp_path / "merged.json"
    res = run_cli("merge", "-q", "--fail-on", "none", *parts, "-o", merged_path)
    assert res.exit_code == 0, res.output
    merged = json.loads(merged_path.read_text())
    assert essence(merged) == essence(whole)
    assert all(
        scope["accounts"] == [ACCOUNT] for scope in merged["scopes"] if scope["coverage"]["shard"]["units"]
    )
