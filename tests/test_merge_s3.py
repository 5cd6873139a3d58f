"""`--shard I/N` over S3 buckets on a real moto server, merged back by `auditor merge`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.shard import shard_of
from tests.conftest import place, run_cli
from tests.conftest_s3 import ACCOUNT, S3World, moto_url, s3world
from tests.test_merge import as_machine, essence, merge_json
from tests.test_merge import scan_to as scan_local

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


# --- auditor merge s3://bucket/prefix/: a fleet's uploads ---------------------------------------


def _laptop_results(tmp_path: Path) -> list[Path]:
    root = tmp_path / "Recordings"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    scan = scan_local(tmp_path, "scan", root)
    return [as_machine(scan, host, tmp_path) for host in ("laptop-a", "laptop-b", "laptop-c")]


def test_merge_reads_every_json_result_under_a_prefix(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("officer")
    laptops = _laptop_results(tmp_path)
    for path in laptops:
        w.put("officer", f"fleet/2026-12/{path.name}", body=path.read_bytes())
    w.put("officer", "fleet/2026-12/README.txt", body=b"not a result")  # not *.json: not an input
    w.put("officer", "other/laptop-z.json", body=laptops[0].read_bytes())  # another prefix
    from_files = merge_json(tmp_path, *laptops)
    out = tmp_path / "fleet.json"
    res = run_cli(
        "merge", "-q", "--fail-on", "none", "s3://officer/fleet/", "--endpoint-url", w.url, "-o", out
    )
    assert res.exit_code == 0, res.output
    merged = json.loads(out.read_text())
    assert essence(merged) == essence(from_files)
    assert [s["file"] for s in merged["scopes"]] == [
        f"s3://officer/fleet/2026-12/{p.name}" for p in laptops
    ]  # ListObjectsV2 returns keys in UTF-8 binary order (AWS docs, ListObjectsV2)
    assert [s["name"] for s in merged["scopes"]] == ["laptop-a", "laptop-b", "laptop-c"]
    assert [s["sha256"] for s in merged["scopes"]] == [s["sha256"] for s in from_files["scopes"]]


def test_a_prefix_without_its_slash_is_still_one_folder(tmp_path: Path, s3world: S3World) -> None:
    """S3 prefixes are plain string prefixes (AWS docs, "Organizing objects using prefixes"): listed
    as given, s3://officer/2026-12 took in 2026-12-old/ too, last month's results in this month's
    audit. A prefix is a folder; a key ending in .json is that one object."""
    w = s3world
    w.bucket("officer")
    laptops = _laptop_results(tmp_path)
    w.put("officer", f"2026-12/{laptops[0].name}", body=laptops[0].read_bytes())
    w.put("officer", f"2026-12/{laptops[1].name}", body=laptops[1].read_bytes())
    w.put("officer", f"2026-12-old/{laptops[2].name}", body=laptops[2].read_bytes())
    for url, keys in (
        ("s3://officer/2026-12", [f"2026-12/{laptops[0].name}", f"2026-12/{laptops[1].name}"]),
        (f"s3://officer/2026-12/{laptops[1].name}", [f"2026-12/{laptops[1].name}"]),
    ):
        out = tmp_path / "m.json"
        res = run_cli("merge", "-q", "--fail-on", "none", url, "--endpoint-url", w.url, "-o", out)
        assert res.exit_code == 0, res.output
        assert [s["file"] for s in json.loads(out.read_text())["scopes"]] == [
            f"s3://officer/{k}" for k in keys
        ]


def test_a_bad_object_under_the_prefix_is_refused_by_its_url(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("officer")
    laptops = _laptop_results(tmp_path)
    w.put("officer", "fleet/laptop-a.json", body=laptops[0].read_bytes())
    w.put("officer", "fleet/laptop-b.json", body=b'{"schema_version": 1,\n "tool": ')
    out = tmp_path / "fleet.json"
    res = run_cli("merge", "-q", "s3://officer/fleet/", "--endpoint-url", w.url, "-o", out)
    assert res.exit_code == 2 and not out.exists()
    assert "s3://officer/fleet/laptop-b.json:2:" in res.output and "Traceback" not in res.output

    data = json.loads(laptops[1].read_text())
    data["schema_version"] = 99
    w.put("officer", "fleet/laptop-b.json", body=json.dumps(data).encode())
    res = run_cli("merge", "-q", "s3://officer/fleet/", "--endpoint-url", w.url, "-o", out)
    assert res.exit_code == 2 and "s3://officer/fleet/laptop-b.json: schema_version 99 is not 1" in res.output


def test_a_prefix_with_no_result_or_no_bucket_is_refused(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("officer")
    w.put("officer", "fleet/notes.txt", body=b"x")
    for url, said in (
        ("s3://officer/fleet/", "s3://officer/fleet/: holds no *.json result"),
        (
            "s3://absent/fleet/",
            "s3://absent/fleet/: cannot list the results under it: S3 refused ListObjectsV2",
        ),
    ):
        res = run_cli("merge", "-q", url, "--endpoint-url", w.url, "-o", tmp_path / "m.json")
        assert res.exit_code == 2, res.output
        assert said in res.output and "Traceback" not in res.output


def test_an_object_it_may_list_but_not_read_stops_the_merge(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Denied GetObject on one laptop's result: a refusal naming it, never a merge without it."""
    w = s3world
    w.bucket("officer")
    for path in _laptop_results(tmp_path):
        w.put("officer", f"fleet/{path.name}", body=path.read_bytes())
    iam = w.client("iam")
    iam.create_user(UserName="officer")
    iam.put_user_policy(
        UserName="officer",
        PolicyName="merge",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::officer/fleet/laptop-b.json"},
                ],
            }
        ),
    )  # fmt: skip
    key = iam.create_access_key(UserName="officer")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    out = tmp_path / "fleet.json"
    with w.enforcing_iam():
        res = run_cli("merge", "-q", "s3://officer/fleet/", "--endpoint-url", w.url, "-o", out)
    assert res.exit_code == 2 and not out.exists()
    assert "s3://officer/fleet/laptop-b.json: cannot read: S3 refused GetObject" in res.output
    assert "AccessDenied" in res.output
