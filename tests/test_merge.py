"""`auditor scan --shard I/N` and `auditor merge`: real scans of real fixture trees, split in
shards and merged back, must give exactly what one scan of the whole tree gives; whatever was
not merged (a shard, an expected machine) is a coverage gap, never a clean bill."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auditor.shard import ROOT_FILES, Shard, shard_of
from tests.conftest import place, run_cli, scan_json
from tests.test_exposure import open_tree

__all__ = ["open_tree"]  # a fixture this module uses

CLINICIANS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")


def practice(root: Path) -> Path:
    """A shared practice folder: one folder per clinician, loose files at the top, a link."""
    for i, who in enumerate(CLINICIANS):
        place(root, f"{who}/2023-01-0{i + 1} client-{i}.wav", "session-dated.wav", 0o644)
        place(root, f"{who}/notes/session-{i}.mp4", "session-audio.mp4")
        place(root, f"{who}/vault/s.m4a.gpg", "session.m4a.gpg")
        if i % 2:
            place(root, f"{who}/vault/age-identity.txt", "age-identity.txt")  # key beside: no safe harbor
    place(root, "loose.wav", "session-dated.wav", 0o644)
    place(root, "session.srt", "session.srt")
    os.symlink(root / "alice", root / "alice-link")  # a gap (not followed), in one shard only
    return root


def scan_to(tmp_path: Path, name: str, *args: str | Path) -> Path:
    out = tmp_path / f"{name}.json"
    res = run_cli("scan", "-q", "--fail-on", "none", *args, "-o", out)
    assert res.exit_code == 0, res.output
    return out


def merge_json(tmp_path: Path, *args: str | Path, expect: int = 0) -> dict[str, Any]:
    out = tmp_path / "merged.json"
    res = run_cli("merge", "-q", "--fail-on", "none", *args, "-o", out)
    assert res.exit_code == expect, res.output
    return json.loads(out.read_text())


def gaps(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((g["location"], g["reason"], g["detail"]) for g in result["coverage"]["skipped"])


def essence(result: dict[str, Any]) -> dict[str, Any]:
    """What an audit says, whatever the scopes: findings, recordings, buckets, counts, gaps."""
    coverage = result["coverage"]
    return {
        "findings": sorted(
            (f["fingerprint"], f["rule"], f["severity"], f["location"], f["message"])
            for f in result["findings"]
        ),
        "recordings": sorted(
            (r["location"], r["encryption"], json.dumps(r["facts"], sort_keys=True))
            for r in result["recordings"]
        ),
        "buckets": sorted(b["location"] for b in result["buckets"]),
        "counts": {
            k: coverage[k] for k in ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read")
        },
        "gaps": sorted(gaps(result)),  # not a set: a gap said once per shard would show
        "summary": {k: v for k, v in result["summary"].items() if k != "people_affected"},
    }


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_merged_equal_one_scan_of_the_whole_tree(tmp_path: Path, count: int) -> None:
    root = practice(tmp_path / "practice")
    whole = scan_json(tmp_path, root, "--fail-on", "none", expect=0)
    parts = [scan_to(tmp_path, f"shard{i}", root, "--shard", f"{i}/{count}") for i in range(1, count + 1)]
    shards = [json.loads(p.read_text()) for p in parts]
    # Each unit in exactly one shard: no recording twice, none lost.
    locations = [r["location"] for s in shards for r in s["recordings"]]
    assert len(locations) == len(set(locations)) == len(whole["recordings"])
    for i, shard in enumerate(shards, 1):
        info = shard["coverage"]["shard"]
        assert (info["index"], info["count"], info["spec"]) == (i, count, f"{i}/{count}")
        # 8 clinicians' folders, the link, and the loose files together: 10 units in all
        assert info["units"] + info["units_in_other_shards"] == 10
    assert sum(s["coverage"]["shard"]["units"] for s in shards) == 10

    merged = merge_json(tmp_path, *parts)
    assert essence(merged) == essence(whole)
    assert "shard" not in merged["coverage"] and merged["coverage"]["merged"]["inputs"] == count
    assert [s["coverage"]["shard"]["spec"] for s in merged["scopes"]] == [
        f"{i}/{count}" for i in range(1, count + 1)
    ]
    # the key beside an encrypted recording is found whichever shard holds the folder
    assert {r["location"] for r in merged["recordings"] if r["facts"].get("keys_beside")} == {
        str(root / who / "vault/s.m4a.gpg") for i, who in enumerate(CLINICIANS) if i % 2
    }


def test_a_missing_shard_is_a_coverage_gap_not_a_clean_part(tmp_path: Path) -> None:
    root = practice(tmp_path / "practice")
    parts = [scan_to(tmp_path, f"shard{i}", root, "--shard", f"{i}/3") for i in (1, 3)]
    merged = merge_json(tmp_path, *parts)
    missing = [g for g in merged["coverage"]["skipped"] if g["reason"] == "shard-missing"]
    assert [g["scope"].rsplit(" ", 1)[1] for g in missing] == ["2/3"]
    assert missing[0]["location"].endswith(str(root))
    assert merged["coverage"]["complete"] is False


def test_expect_names_the_machines_that_sent_nothing(tmp_path: Path) -> None:
    root = practice(tmp_path / "practice")
    mine = json.loads(scan_to(tmp_path, "here", root).read_text())
    host = mine["run_by"].rpartition("@")[2]
    expect = tmp_path / "hosts.txt"
    expect.write_text(f"# the practice's laptops\n{host}\nlaptop-07  # Bob's\n")
    merged = merge_json(tmp_path, tmp_path / "here.json", "--expect", expect)
    missing = [g for g in merged["coverage"]["skipped"] if g["reason"] == "scope-missing"]
    assert [(g["location"], g["scope"]) for g in missing] == [("laptop-07", "laptop-07")]
    assert merged["coverage"]["complete"] is False
    assert [s["host"] for s in merged["scopes"]] == [host]

    # The report says so too, in the scope and limitations an officer hands on.
    html = tmp_path / "merged.html"
    res = run_cli("merge", "-q", "--fail-on", "none", tmp_path / "here.json", "--expect", expect, "-o", html)
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert "laptop-07" in page and "scope-missing" in page


def test_a_complete_merge_is_complete_and_each_scope_keeps_where_and_when(tmp_path: Path) -> None:
    place(tmp_path / "p", "alice/notes.txt", "agenda.txt")  # no recording: nothing to flag
    consent = tmp_path / "consent.yaml"
    consent.write_text("version: 1\nclients: []\n")
    one = scan_to(tmp_path, "one", tmp_path / "p", "--consent", consent, "--shard", "1/2")
    two = scan_to(tmp_path, "two", tmp_path / "p", "--consent", consent, "--shard", "2/2")
    merged = merge_json(tmp_path, one, two)
    assert merged["coverage"]["complete"] is True and merged["findings"] == []
    for scope, path in zip(merged["scopes"], (one, two), strict=True):
        source = json.loads(path.read_text())
        assert scope["file"] == str(path) and scope["run_by"] == source["run_by"]
        assert scope["started"] == source["started"] and scope["targets"] == [str(tmp_path / "p")]
        assert scope["coverage"]["shard"] == source["coverage"]["shard"]


def as_machine(path: Path, host: str, tmp_path: Path) -> Path:
    """The same scan as another laptop's result would say it (run_by is user@host)."""
    data = json.loads(path.read_text())
    data["run_by"] = f"therapist@{host}"
    out = tmp_path / f"{host}.json"
    out.write_text(json.dumps(data))
    return out


def test_same_path_on_two_laptops_is_two_files_but_one_s3_object_is_one(tmp_path: Path) -> None:
    root = tmp_path / "Recordings"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    scan = scan_to(tmp_path, "scan", root)
    single = json.loads(scan.read_text())
    a, b = as_machine(scan, "laptop-a", tmp_path), as_machine(scan, "laptop-b", tmp_path)
    merged = merge_json(tmp_path, a, b)
    assert len(merged["findings"]) == 2 * len(single["findings"])
    assert {f["host"] for f in merged["findings"]} == {"laptop-a", "laptop-b"}
    assert len(merged["recordings"]) == 2

    # The same result given twice (a laptop that uploaded twice) is deduplicated.
    again = merge_json(tmp_path, a, a)
    assert len(again["findings"]) == len(single["findings"])
    assert again["coverage"]["merged"]["duplicate_findings"] == len(single["findings"])
    assert again["findings"][0]["seen_in"] == ["laptop-a"] or "seen_in" not in again["findings"][0]


def test_the_earliest_breach_discovery_is_kept(tmp_path: Path, open_tree: Path) -> None:
    root = open_tree / "shared"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)  # world-readable: a breach
    early = scan_to(tmp_path, "early", root)
    late = scan_to(tmp_path, "late", root)

    def breach(result: dict[str, Any]) -> dict[str, Any]:
        (found,) = [f for f in result["findings"] if f["category"] == "breach"]
        return found

    first, second = breach(json.loads(early.read_text())), breach(json.loads(late.read_text()))
    assert first["evidence"]["discovered_at"] < second["evidence"]["discovered_at"]
    for order in ((late, early), (early, late)):
        merged = breach(merge_json(tmp_path, *order))
        for key in ("discovered_at", "hipaa_notification_deadline", "gdpr_notification_deadline"):
            assert merged["evidence"][key] == first["evidence"][key]
        assert merged["message"] == first["message"]


def test_exit_codes_are_the_scans(tmp_path: Path) -> None:
    root = tmp_path / "shared"  # findings of high severity (unencrypted), no breach needed
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    part = scan_to(tmp_path, "part", root)
    out = tmp_path / "m.json"
    assert run_cli("merge", "-q", part, "-o", out).exit_code == 1  # critical findings, --fail-on high
    assert run_cli("merge", "-q", part, "-o", out, "--fail-on", "none").exit_code == 0
    # Gaps alone (consent not checked, a shard missing) are not findings: never exit 1 for them.
    place(tmp_path / "quiet", "a/agenda.txt", "agenda.txt")
    quiet = scan_to(tmp_path, "quiet", tmp_path / "quiet", "--shard", "1/2")
    res = run_cli("merge", "-q", quiet, "-o", out)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["coverage"]["complete"] is False


def broken(tmp_path: Path, source: Path, change: Any, name: str = "bad.json") -> Path:
    data = json.loads(source.read_text())
    change(data)
    out = tmp_path / name
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.update(schema_version=2), "schema_version 2 is not 1"),
        (lambda d: d["findings"][0].pop("fingerprint"), "findings[0].fingerprint: missing, or not a string"),
        (lambda d: d.update(coverage=[]), "coverage: missing, or not an object"),
        (lambda d: d["coverage"].update(skipped="none"), "coverage.skipped: not a list of objects"),
        (lambda d: d.update(recordings=[{"where": "x"}]), "recordings[0]: not an object with a location"),
        (lambda d: d.update(redaction={"key_id": "x"}), "redaction: this result is redacted"),
        (lambda d: d.pop("tool"), "not a recording-auditor JSON result"),
    ],
)
def test_an_input_that_is_not_a_compatible_result_exits_2_naming_file_and_key(
    tmp_path: Path, change: Any, says: str
) -> None:
    root = tmp_path / "shared"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    good = scan_to(tmp_path, "good", root)
    bad = broken(tmp_path, good, change)
    out = tmp_path / "m.json"
    res = run_cli("merge", good, bad, "-o", out)
    assert res.exit_code == 2, res.output
    assert f"auditor: error: {bad}: {says}" in res.output
    assert not out.exists()  # nothing half-merged is written


def test_an_input_that_is_not_json_exits_2_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "laptop.json"
    bad.write_text('{"schema_version": 1,\n  "tool": {"name": "recording-auditor"},\n  oops\n}')
    res = run_cli("merge", bad, "-o", tmp_path / "m.json")
    assert res.exit_code == 2 and f"{bad}:3:" in res.output
    missing = run_cli("merge", tmp_path / "nowhere.json", "-o", tmp_path / "m.json")
    assert missing.exit_code == 2 and "nowhere.json: cannot read" in missing.output


def test_an_expect_file_naming_nothing_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    place(root, "a.txt", "agenda.txt")
    part = scan_to(tmp_path, "part", root)
    empty = tmp_path / "hosts.txt"
    empty.write_text("# nobody yet\n")
    res = run_cli("merge", part, "--expect", empty, "-o", tmp_path / "m.json")
    assert res.exit_code == 2 and f"{empty}: names no scope" in res.output


def test_a_merged_result_merges_again_keeping_its_scopes(tmp_path: Path) -> None:
    root = practice(tmp_path / "practice")
    whole = scan_json(tmp_path, root, "--fail-on", "none", expect=0)
    parts = [scan_to(tmp_path, f"shard{i}", root, "--shard", f"{i}/4") for i in range(1, 5)]
    first = tmp_path / "first.json"
    assert run_cli("merge", "-q", "--fail-on", "none", parts[0], parts[1], "-o", first).exit_code == 0
    merged = merge_json(tmp_path, first, parts[2], parts[3])
    assert [s["coverage"]["shard"]["index"] for s in merged["scopes"]] == [1, 2, 3, 4]
    assert essence(merged) == essence(whole)


def test_shard_option_is_checked_before_scanning(tmp_path: Path) -> None:
    for bad in ("0/3", "4/3", "2", "a/b", "1/0"):
        res = run_cli("scan", tmp_path, "--shard", bad, "-o", tmp_path / "r.json")
        assert res.exit_code == 2 and "--shard" in res.output, (bad, res.output)
        assert not (tmp_path / "r.json").exists()


def test_shard_of_is_stable_and_covers_every_shard() -> None:
    # Fixed values: a change of hash would silently re-split every fleet's shards.
    units = ("alice", "bob", ROOT_FILES, "s3://clinic")
    assert [shard_of(name, 4) for name in units] == [2, 3, 1, 2]
    assert [shard_of(name, 7) for name in units] == [3, 1, 1, 3]
    names = [f"folder-{i}" for i in range(400)]
    spread = {shard_of(n, 4) for n in names}
    assert spread == {1, 2, 3, 4}
    assert all(sum(Shard(i, 4).owns(n) for i in range(1, 5)) == 1 for n in names)


def test_a_machine_missing_from_an_earlier_merge_is_still_missing_until_merged(tmp_path: Path) -> None:
    place(tmp_path / "p", "a/agenda.txt", "agenda.txt")
    here = scan_to(tmp_path, "here", tmp_path / "p")
    expect = tmp_path / "hosts.txt"
    expect.write_text("laptop-07\n")
    first = tmp_path / "first.json"
    assert run_cli("merge", "-q", here, "--expect", expect, "-o", first).exit_code == 0
    still = merge_json(tmp_path, first)
    assert [g["location"] for g in still["coverage"]["skipped"] if g["reason"] == "scope-missing"] == [
        "laptop-07"
    ]
    found = merge_json(tmp_path, first, as_machine(here, "laptop-07", tmp_path))
    assert not [g for g in found["coverage"]["skipped"] if g["reason"] == "scope-missing"]


def test_two_laptops_with_one_host_name_are_two_scopes_by_their_user(tmp_path: Path) -> None:
    """`MacBook-Pro` twice (the default name): told apart by user@host, each keeping its findings;
    the same user@host twice is one machine (a rescan, or its shards), deduplicated."""
    root = tmp_path / "Recordings"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    scan = scan_to(tmp_path, "scan", root)
    single = json.loads(scan.read_text())
    alice, bob = (tmp_path / "alice.json", tmp_path / "bob.json")
    for who, path in (("alice", alice), ("bob", bob)):
        data = json.loads(scan.read_text())
        data["run_by"] = f"{who}@MacBook-Pro"
        path.write_text(json.dumps(data))
    laptop = as_machine(scan, "laptop-c", tmp_path)
    expect = tmp_path / "hosts.txt"
    expect.write_text("MacBook-Pro\nbob@MacBook-Pro\nlaptop-c\n")
    merged = merge_json(tmp_path, alice, bob, laptop, "--expect", expect)
    assert [s["name"] for s in merged["scopes"]] == ["alice@MacBook-Pro", "bob@MacBook-Pro", "laptop-c"]
    assert [s["host"] for s in merged["scopes"]] == ["MacBook-Pro", "MacBook-Pro", "laptop-c"]
    assert len(merged["findings"]) == 3 * len(single["findings"])  # the same path on two machines
    assert {f["scope"] for f in merged["findings"]} == {"alice@MacBook-Pro", "bob@MacBook-Pro", "laptop-c"}
    assert {f["host"] for f in merged["findings"]} == {"alice@MacBook-Pro", "bob@MacBook-Pro", "laptop-c"}
    assert not [g for g in merged["coverage"]["skipped"] if g["reason"] == "scope-missing"]  # all there
    # Merged again with a third laptop, the two stay apart: their findings keep their own host.
    again = merge_json(tmp_path, tmp_path / "merged.json", as_machine(scan, "laptop-d", tmp_path))
    assert len(again["findings"]) == 4 * len(single["findings"])
    # The same user@host twice is one machine: nothing is counted twice.
    twice = merge_json(tmp_path, alice, alice)
    assert len(twice["findings"]) == len(single["findings"])
    assert {s["name"] for s in twice["scopes"]} == {"MacBook-Pro"}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["coverage"].update(api_calls={"s3.GetObject": "zz"}), "coverage.api_calls.s3.GetObject"),
        (lambda d: d.update(rules=[{}]), "rules[0]"),
        (lambda d: d["findings"][0].update(controls=None), "findings[0].controls"),
        (lambda d: d["recordings"][0].update(media=7), "recordings[0].media"),
        (lambda d: d["coverage"].update(bytes_read="zz"), "coverage.bytes_read"),
        (lambda d: d["coverage"].update(shard={"index": 1, "count": "x"}), "coverage.shard.count"),
    ],
)
def test_an_input_with_a_key_of_the_wrong_type_exits_2_naming_it(
    tmp_path: Path, change: Any, key: str
) -> None:
    """Found by trying it: these exited 70 (an internal error, a traceback in a file) somewhere in
    the merge or its outputs. Every input is checked against result.schema.json first."""
    root = tmp_path / "shared"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    good = scan_to(tmp_path, "good", root)
    bad = broken(tmp_path, good, change)
    for command in (
        ["merge", good, bad, "-o", tmp_path / "m.json"],
        ["report", bad, "-o", tmp_path / "r.html"],
    ):
        res = run_cli(*command)
        assert res.exit_code == 2, res.output
        assert f"auditor: error: {bad}: {key}: not a valid result (" in res.output
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("tool", [None, "zz", 7, []])
def test_an_input_whose_tool_is_not_an_object_is_not_a_result(tmp_path: Path, tool: Any) -> None:
    root = tmp_path / "shared"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    good = scan_to(tmp_path, "good", root)
    bad = broken(tmp_path, good, lambda d: d.update(tool=tool))
    res = run_cli("merge", good, bad, "-o", tmp_path / "m.json")
    assert res.exit_code == 2, res.output
    assert f"auditor: error: {bad}: not a recording-auditor JSON result" in res.output
