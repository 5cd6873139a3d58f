"""`--shard I/N` of one `s3://bucket[/prefix]` target: its units are the prefixes right below the
target (a listing with Delimiter="/", whose CommonPrefixes are the "folders" one level down:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-prefixes.html) and the keys at the
target's own level together. On a real moto server: shards merged equal one scan of the bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.shard import shard_of
from tests.conftest import run_cli
from tests.conftest_s3 import S3World, moto_url, s3rver, s3rver_url, s3world
from tests.test_merge import essence

__all__ = ["moto_url", "s3rver", "s3rver_url", "s3world"]  # fixtures used by this module

PREFIXES = ("2023/", "2024/", "alice/", "bob/", "carol/", "supervision/")


def practice_bucket(w: S3World, *, versioned: bool = False) -> str:
    name = w.bucket("one-big-bucket", versioned=versioned)
    w.put(name, "loose-session.wav", "session-dated.wav")  # the bucket's own level: one unit
    w.put(name, "agenda.txt", "agenda.txt")
    for i, prefix in enumerate(PREFIXES):
        w.put(name, f"{prefix}client-{i}/session.wav", "session-dated.wav")
        w.put(name, f"{prefix}client-{i}/notes.mp4", "session-audio.mp4")
        w.put(name, f"{prefix}vault/s.m4a.gpg", "session.m4a.gpg")
        if i % 2:  # key material beside an encrypted recording: found whichever shard has the folder
            w.put(name, f"{prefix}vault/age-identity.txt", "age-identity.txt")
    if versioned:  # a prefix that holds only a deleted recording's noncurrent version
        w.put(name, "old/withdrawn/session.wav", "session-dated.wav")
        w.s3.delete_object(Bucket=name, Key="old/withdrawn/session.wav")
    return name


def scan_to(tmp_path: Path, world: S3World, name: str, target: str, *args: str) -> dict:
    out = tmp_path / f"{name}.json"
    res = run_cli("scan", "-q", "--fail-on", "none", target, "--endpoint-url", world.url, *args, "-o", out)
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_one_bucket_split_by_prefix_merges_back_to_one_scan(
    tmp_path: Path, s3world: S3World, versioned: bool
) -> None:
    w = s3world
    bucket = practice_bucket(w, versioned=versioned)
    target = f"s3://{bucket}"
    whole = scan_to(tmp_path, w, "whole", target)
    units = [f"{target}/", *(f"{target}/{p}" for p in PREFIXES), *([f"{target}/old/"] if versioned else [])]
    count = 3
    shards = [scan_to(tmp_path, w, f"shard{i}", target, "--shard", f"{i}/{count}") for i in (1, 2, 3)]
    seen: list[str] = []
    for i, shard in enumerate(shards, 1):
        mine = [u for u in units if shard_of(u, count) == i]
        info = shard["coverage"]["shard"]
        assert (info["units"], info["units_in_other_shards"]) == (len(mine), len(units) - len(mine))
        assert "each top-level prefix" in info["unit"]
        # each recording is in the shard of its top-level prefix, or of the bucket's own level
        for rec in shard["recordings"]:
            key = rec["location"].removeprefix(f"{target}/").split("?")[0]
            unit = f"{target}/{key.split('/', 1)[0]}/" if "/" in key else f"{target}/"
            assert unit in mine, (rec["location"], i)
        seen += [r["location"] for r in shard["recordings"]]
    assert sorted(seen) == sorted(r["location"] for r in whole["recordings"])  # none twice, none lost
    assert len(seen) == 1 + 3 * len(PREFIXES) + versioned
    assert {u for u in units if shard_of(u, count) == 1} and {u for u in units if shard_of(u, count) == 2}
    merged_path = tmp_path / "merged.json"
    parts = [tmp_path / f"shard{i}.json" for i in (1, 2, 3)]
    res = run_cli("merge", "-q", "--fail-on", "none", *parts, "-o", merged_path)
    assert res.exit_code == 0, res.output
    merged = json.loads(merged_path.read_text())
    assert essence(merged) == essence(whole)
    assert merged["coverage"]["complete"] == whole["coverage"]["complete"]
    # each shard's bucket counts only its part; merged, the parts add up to the whole scan's counts
    counts = ("objects_seen", "recordings", "delete_markers")
    (bucket_whole,), (bucket_merged,) = whole["buckets"], merged["buckets"]
    assert {k: bucket_merged["facts"][k] for k in counts} == {k: bucket_whole["facts"][k] for k in counts}
    again = json.loads(run_and_read(tmp_path, *parts, parts[0]))  # a shard given twice counts once
    assert again["buckets"][0]["facts"]["objects_seen"] == bucket_whole["facts"]["objects_seen"]


def test_a_prefix_target_is_split_one_level_below_it(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    bucket = practice_bucket(w)
    for who in ("x", "y", "z", "w"):
        w.put(bucket, f"2023/{who}/s.wav", "session-dated.wav")
    target = f"s3://{bucket}/2023/"
    shards = [scan_to(tmp_path, w, f"s{i}", target, "--shard", f"{i}/2") for i in (1, 2)]
    units = [target, *(f"{target}{p}/" for p in ("client-0", "vault", "w", "x", "y", "z"))]
    for i, shard in enumerate(shards, 1):
        assert shard["coverage"]["shard"]["units"] == sum(shard_of(u, 2) == i for u in units)
    locations = sorted(r["location"] for s in shards for r in s["recordings"])
    assert locations == sorted(r["location"] for r in scan_to(tmp_path, w, "whole", target)["recordings"])
    assert all(loc.startswith(target) for loc in locations) and len(locations) == 7


def test_an_s3_compatible_store_is_split_by_prefix_too(tmp_path: Path, s3rver: S3World) -> None:
    # s3rver, an independent implementation of the S3 API (tests/conftest_s3.py), lists with a
    # delimiter as AWS documents; merged shards hold every recording of one scan, once.
    w = s3rver
    w.bucket("compat")
    w.put("compat", "top.wav", "session-dated.wav")
    for prefix in PREFIXES:
        w.put("compat", f"{prefix}s.wav", "session-dated.wav")
    whole = scan_to(tmp_path, w, "whole", "s3://compat")
    shards = [scan_to(tmp_path, w, f"s{i}", "s3://compat", "--shard", f"{i}/2") for i in (1, 2)]
    assert sum(s["coverage"]["shard"]["units"] for s in shards) == len(PREFIXES) + 1
    located = sorted(r["location"] for s in shards for r in s["recordings"])
    assert located == sorted(r["location"] for r in whole["recordings"]) and len(located) == 7


def run_and_read(tmp_path: Path, *parts: Path) -> str:
    out = tmp_path / "again.json"
    res = run_cli("merge", "-q", "--fail-on", "none", *parts, "-o", out)
    assert res.exit_code == 0, res.output
    return out.read_text()
