"""Exposure end to end on a real S3 server (moto): two oracles, read versus list, names breaches.

The exposure verdict combines the store's GetBucketPolicyStatus with the scanner's own evaluator
(AWS's meaning of "public", see test_s3_policy.py): either saying public makes the bucket public,
the evidence says which said so, and a disagreement is recorded. Objects are flagged only for what
a statement grants, and the evidence says whether strangers can read the content, list the names,
or both. moto's GetBucketPolicyStatus is one of the oracles under test: it calls any Allow with a
Condition non-public, and ignores Deny statements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import scan_json
from tests.conftest_s3 import S3World, moto_url, s3world, without_policy_enforcement, without_policy_status

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

PATTERNS = "version: 1\nattribution:\n  patterns:\n    - 'clients/(?P<client>C-[^/]+)/(?P<date>\\d{4}-\\d{2}-\\d{2})/'\n"


def scan(tmp_path: Path, world: S3World, *args: str) -> dict[str, Any]:
    config = tmp_path / "auditor.yaml"
    config.write_text(PATTERNS)
    return scan_json(tmp_path, *args, "--endpoint-url", world.url, "--config", config)


def exposures(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {r["location"]: r["exposures"] for r in result["recordings"]}


def findings(result: dict[str, Any], rule: str) -> dict[str, dict[str, Any]]:
    return {f["location"]: f for f in result["findings"] if f["rule"] == rule}


def bucket_facts(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b for b in result["buckets"] if b["location"] == f"s3://{name}"]
    return dict(found["facts"])


def statement(sid: str, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource, **extra}


def put_policy(world: S3World, name: str, *statements: dict[str, Any]) -> None:
    world.s3.put_bucket_policy(
        Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


# --- read versus list ------------------------------------------------------------------------------


def test_listing_alone_exposes_names_and_is_a_breach_only_when_the_key_identifies(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("names")
    w.put("names", "clients/C-7/2024-05-02/session.wav", "session.wav")
    w.put("names", "inbox/unnamed.wav", "session.wav")
    put_policy(w, "names", statement("ListAll", "s3:ListBucket", "arn:aws:s3:::names"))
    result = scan(tmp_path, w, "s3://names")
    named, unnamed = "s3://names/clients/C-7/2024-05-02/session.wav", "s3://names/inbox/unnamed.wav"
    for location in (named, unnamed):
        (exposure,) = exposures(result)[location]
        assert exposure["kind"] == "public-policy"
        assert exposure["evidence"]["access"] == ["list"]
        assert "not download it" in exposure["detail"]
    assert set(findings(result, "s3-object-public")) == {named, unnamed}
    breaches = findings(result, "breach-unsecured-exposure")
    assert set(breaches) == {named}  # the other key identifies no client: an exposure, not a breach
    assert breaches[named]["evidence"]["breach_of"] == "names"
    assert breaches[named]["evidence"]["key_identifies"] == ["client", "session_date"]
    assert "breach of the names, not of the content" in breaches[named]["message"]


def test_read_and_list_together_is_a_breach_of_the_content(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("both")
    w.put("both", "clients/C-7/2024-05-02/session.wav", "session.wav")
    put_policy(
        w,
        "both",
        statement("Read", "s3:GetObject", "arn:aws:s3:::both/*"),
        statement("List", "s3:ListBucket", "arn:aws:s3:::both"),
    )
    result = scan(tmp_path, w, "s3://both")
    (exposure,) = exposures(result)["s3://both/clients/C-7/2024-05-02/session.wav"]
    assert exposure["evidence"]["access"] == ["read", "list"]
    assert [s["sid"] for s in exposure["evidence"]["statements"]] == ["Read", "List"]
    (breach,) = findings(result, "breach-unsecured-exposure").values()
    assert breach["evidence"]["breach_of"] == "content"


def test_a_public_read_bucket_acl_exposes_the_names_not_the_content(tmp_path: Path, s3world: S3World) -> None:
    """S3 User Guide, "Access control list (ACL) overview": READ on a bucket "allows grantee to list
    the objects in the bucket"; reading an object takes READ on the object."""
    w = s3world
    w.bucket("listed", acl="public-read")
    w.put("listed", "clients/C-2/2024-01-09/s.wav", "session.wav", ACL="private")
    w.put("listed", "open/s.wav", "session.wav", ACL="public-read")
    result = scan(tmp_path, w, "s3://listed")
    by_kind = {
        loc: {e["kind"]: e["evidence"]["access"] for e in found} for loc, found in exposures(result).items()
    }
    assert by_kind == {
        "s3://listed/clients/C-2/2024-01-09/s.wav": {"public-acl": ["list"]},
        "s3://listed/open/s.wav": {"public-acl": ["list"], "object-acl": ["read"]},
    }
    breaches = findings(result, "breach-unsecured-exposure")
    assert breaches["s3://listed/clients/C-2/2024-01-09/s.wav"]["evidence"]["breach_of"] == "names"
    assert breaches["s3://listed/open/s.wav"]["evidence"]["breach_of"] == "content"


# --- two oracles ---------------------------------------------------------------------------------


def test_the_store_says_public_but_no_statement_survives_the_evaluator(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto ignores Deny statements in GetBucketPolicyStatus; S3 would say "not public" here. Its
    # own enforcement of the Deny would also refuse the scanner's reads from 127.0.0.1: off.
    without_policy_enforcement(monkeypatch)
    w = s3world
    w.bucket("fenced")
    w.put("fenced", "clients/C-1/2024-02-02/s.wav", "session.wav")
    put_policy(
        w,
        "fenced",
        statement("Open", "s3:GetObject", "arn:aws:s3:::fenced/*"),
        {
            "Sid": "OnlyFromTheClinic",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::fenced", "arn:aws:s3:::fenced/*"],
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        },
    )
    result = scan(tmp_path, w, "s3://fenced")
    policy = bucket_facts(result, "fenced")["policy"]
    assert (policy["public"], policy["public_said_by"]) == (True, ["GetBucketPolicyStatus"])
    assert (policy["store_says_public"], policy["evaluator_says_public"]) == (True, False)
    assert "the evaluator finds no statement" in policy["disagreement"]
    # The bucket is flagged; no object is, as none can be tied to a statement.
    (flag,) = findings(result, "s3-bucket-policy-public").values()
    assert flag["location"] == "s3://fenced" and flag["evidence"]["said_by"] == ["GetBucketPolicyStatus"]
    assert "disagree" in flag["message"]
    assert exposures(result) == {"s3://fenced/clients/C-1/2024-02-02/s.wav": []}
    assert not findings(result, "s3-object-public") and not findings(result, "breach-unsecured-exposure")


def test_the_evaluator_says_public_where_the_store_does_not(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("tls")
    w.put("tls", "a/s.wav", "session.wav")
    # HTTPS says nothing about who calls: public by AWS's definition, "not public" by moto's.
    put_policy(
        w,
        "tls",
        statement(
            "HttpsOnly",
            "s3:GetObject",
            "arn:aws:s3:::tls/*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    result = scan(tmp_path, w, "s3://tls")
    policy = bucket_facts(result, "tls")["policy"]
    assert (policy["public"], policy["public_said_by"]) == (True, ["evaluator"])
    assert (
        policy["disagreement"]
        == "GetBucketPolicyStatus says not public; the evaluator finds Sid 'HttpsOnly' public"
    )
    (exposure,) = exposures(result)["s3://tls/a/s.wav"]
    assert exposure["evidence"]["said_by"] == "evaluator"
    assert exposure["evidence"]["policy_status_public"] is False
    assert "disagreement" in exposure["evidence"]
    assert set(findings(result, "s3-object-public")) == {"s3://tls/a/s.wav"}


def test_object_exposures_do_not_depend_on_the_store_verdict(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = s3world
    w.bucket("same")
    w.put("same", "public/flyer.wav", "session.wav")
    w.put("same", "clients/C-3/2024-04-04/s.wav", "session.wav")
    put_policy(
        w,
        "same",
        statement("Flyers", "s3:GetObject", "arn:aws:s3:::same/public/*"),
        statement(
            "Tls",
            "s3:GetObject",
            "arn:aws:s3:::same/clients/*",
            Condition={"Bool": {"aws:SecureTransport": "true"}},
        ),
    )
    with_status = scan(tmp_path, w, "s3://same")
    without_policy_status(monkeypatch)
    without = scan(tmp_path, w, "s3://same")

    def reach(result: dict[str, Any]) -> dict[str, list[tuple[str, list[str]]]]:
        return {
            loc: [(e["kind"], e["evidence"]["access"]) for e in found]
            for loc, found in exposures(result).items()
        }

    assert (
        reach(with_status)
        == reach(without)
        == {
            "s3://same/public/flyer.wav": [("public-policy", ["read"])],
            "s3://same/clients/C-3/2024-04-04/s.wav": [("public-policy", ["read"])],
        }
    )
    assert bucket_facts(without, "same")["policy"]["public_said_by"] == ["evaluator"]
    assert bucket_facts(without, "same")["policy"]["store_says_public"] is None
    status_gaps = [
        g for g in without["coverage"]["skipped"] if g["detail"].startswith("s3.GetBucketPolicyStatus")
    ]
    assert [(g["location"], g["reason"]) for g in status_gaps] == [("s3://same", "unsupported")]


# --- policies the evaluator must read as sets, and malformed ones ------------------------------


def test_a_not_resource_deny_leaves_what_it_does_not_name_public(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_policy_enforcement(monkeypatch)  # see test_the_store_says_public_but_no_statement_survives...
    w = s3world
    w.bucket("split")
    w.put("split", "public/intro.wav", "session.wav")
    w.put("split", "clients/C-4/2024-06-01/s.wav", "session.wav")
    put_policy(
        w,
        "split",
        statement("Everything", "s3:GetObject", "arn:aws:s3:::split/*"),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::split/public/*"},
    )
    result = scan(tmp_path, w, "s3://split")
    assert {loc: bool(found) for loc, found in exposures(result).items()} == {
        "s3://split/public/intro.wav": True,
        "s3://split/clients/C-4/2024-06-01/s.wav": False,
    }
    assert bucket_facts(result, "split")["policy"]["evaluator_says_public"] is True


def test_a_malformed_policy_the_store_kept_is_read_at_its_worst_and_is_a_gap(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_policy_enforcement(monkeypatch)  # moto's own evaluator refuses every read under this policy
    w = s3world
    w.bucket("lenient")
    w.put("lenient", "a/s.wav", "session.wav")
    # AWS refuses both spellings; moto (like some S3-compatible stores) keeps them.
    put_policy(
        w,
        "lenient",
        {
            "Effect": "allow",
            "Principal": ["*"],
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::lenient/*",
        },
    )
    result = scan(tmp_path, w, "s3://lenient")
    policy = bucket_facts(result, "lenient")["policy"]
    assert policy["evaluator_says_public"] is True and policy["public"] is True
    assert any("Effect 'allow'" in m for m in policy["malformed"])
    (gap,) = [g for g in result["coverage"]["skipped"] if g["reason"] == "policy-malformed"]
    assert gap["location"] == "s3://lenient" and "Principal is a list" in gap["detail"]
    (exposure,) = exposures(result)["s3://lenient/a/s.wav"]
    assert exposure["evidence"]["statements"][0]["malformed"]


def test_a_policy_too_complex_to_compare_is_assumed_public_and_says_so(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Allow whose comparison with the Deny statements gives up (globs.MAX_STATES) counts as
    public, the breach scanner's safe answer; but the evidence says it is an assumption and the
    coverage has a gap. Each object is still judged exactly (its own key against each Deny)."""
    without_policy_status(monkeypatch)  # moto calls it public too; the evaluator alone is under test
    without_policy_enforcement(monkeypatch)  # moto's evaluator would refuse the scanner's reads
    w = s3world
    w.bucket("tangled")
    w.put("tangled", "clients/C-1/2024-01-02/s.wav", "session.wav")
    tangled = [f"arn:aws:s3:::tangled/*{chr(97 + i)}*{chr(98 + i)}*?*" for i in range(9)]
    put_policy(
        w,
        "tangled",
        statement("Tangled", "s3:GetObject", tangled),
        {
            "Sid": "CloseAll",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tangled/*", *tangled],
        },
    )
    result = scan(tmp_path, w, "s3://tangled")
    (finding,) = findings(result, "s3-bucket-policy-public").values()
    (evidence,) = finding["evidence"]["public_statements"]
    assert evidence["sid"] == "Tangled"
    assert "Statement Tangled counts as public without proof" in finding["message"]
    assert evidence["assumed_public"].startswith("counted as public without proof: comparing it")
    (gap,) = [g for g in result["coverage"]["skipped"] if g["reason"] == "policy-too-complex"]
    assert gap["location"] == "s3://tangled"
    assert gap["detail"].startswith("s3.GetBucketPolicy: Sid 'Tangled': counted as public without proof")
    assert exposures(result)["s3://tangled/clients/C-1/2024-01-02/s.wav"] == []  # CloseAll covers the key
    assert not findings(result, "s3-object-public")
    assert "s3://tangled" in findings(result, "s3-bucket-tls-not-enforced")  # no TLS Deny at all: judged


def test_a_tls_deny_too_complex_to_compare_is_a_gap_not_a_finding(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_policy_enforcement(monkeypatch)  # moto would refuse the scanner's own plain-HTTP reads
    w = s3world
    w.bucket("tls")
    w.put("tls", "s.wav", "session.wav")
    tangled = [f"arn:aws:s3:::tls/*{chr(97 + i)}*{chr(98 + i)}*?*" for i in range(9)]
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    tls_deny = {"Sid": "TLS", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": insecure}
    put_policy(w, "tls", {**tls_deny, "Resource": ["arn:aws:s3:::tls/*", *tangled]})
    result = scan(tmp_path, w, "s3://tls")
    assert bucket_facts(result, "tls")["policy"]["tls_only"] is None
    assert not findings(result, "s3-bucket-tls-not-enforced")
    (gap,) = [g for g in result["coverage"]["skipped"] if g["reason"] == "policy-too-complex"]
    assert "plain HTTP on every object: too complex to compare, not judged" in gap["detail"]

    put_policy(w, "tls", {**tls_deny, "Resource": "arn:aws:s3:::tls/*"})  # the other side: decided
    result = scan(tmp_path, w, "s3://tls")
    assert bucket_facts(result, "tls")["policy"]["tls_only"] is True
    assert not [g for g in result["coverage"]["skipped"] if g["reason"] == "policy-too-complex"]
