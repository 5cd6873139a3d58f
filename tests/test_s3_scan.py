"""S3 targets end to end: the CLI scanning a real S3-speaking HTTP server (moto) on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, scan_json
from tests.conftest_s3 import ACCOUNT, S3World, fake_aws_env, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

BUCKET_OPERATIONS = {
    "s3.HeadBucket",
    "s3.GetBucketOwnershipControls",
    "s3.GetBucketAcl",
    "s3.GetPublicAccessBlock",
    "s3.GetBucketPolicy",
    "s3.GetBucketPolicyStatus",
    "s3.GetBucketEncryption",
    "s3.GetBucketVersioning",
    "s3.GetBucketLifecycleConfiguration",
    "s3.GetObjectLockConfiguration",
    "s3.GetBucketLogging",
    "s3.GetBucketWebsite",
}
OBJECT_OPERATIONS = {"s3.GetObject", "s3.HeadObject", "s3.GetObjectAcl", "s3.GetObjectTagging"}


def scan(tmp_path: Path, world: S3World, *targets: str, expect: int | None = None) -> dict[str, Any]:
    return scan_json(tmp_path, *targets, "--endpoint-url", world.url, expect=expect)


def by_location(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["location"]: r for r in result["recordings"]}


def bucket(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b for b in result["buckets"] if b["location"] == f"s3://{name}"]
    return found


def rules_at(result: dict[str, Any], location: str) -> set[str]:
    return {f["rule"] for f in result["findings"] if f["location"] == location}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow_all(resource: str, sid: str, **condition: Any) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": resource,
    }
    if condition:
        st["Condition"] = condition
    return st


# --- exposure -----------------------------------------------------------------------------------


def test_every_exposure_path_and_the_conditions_that_close_them(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket(
        "clinic",
        policy=policy(
            allow_all("arn:aws:s3:::clinic/open/*", "OpenToAll"),
            allow_all("arn:aws:s3:::clinic/vpce/*", "VpceOnly", StringEquals={"aws:SourceVpce": "vpce-0abc"}),
            allow_all("arn:aws:s3:::clinic/anyip/*", "AnyIp", IpAddress={"aws:SourceIp": "0.0.0.0/0"}),
            allow_all(
                "arn:aws:s3:::clinic/org/*", "OrgOnly", StringEquals={"aws:PrincipalOrgID": "o-abc123"}
            ),
        ),
    )
    for prefix in ("open", "vpce", "anyip", "org", "private"):
        w.put("clinic", f"{prefix}/s.wav", "session.wav", ServerSideEncryption="AES256")
    w.put("clinic", "private/acl.m4a", "session.m4a", ACL="public-read")
    w.bucket("shared", acl="authenticated-read")
    w.put("shared", "s.wav", "session.wav", ACL="private")  # as S3 does; moto would copy the bucket ACL
    w.bucket("neutralised", acl="public-read", block=("IgnorePublicAcls",))
    w.put("neutralised", "s.wav", "session.wav")

    result = scan(tmp_path, w, "s3://clinic", "s3://shared", "s3://neutralised")
    recs = by_location(result)
    assert {loc: {e["kind"] for e in r["exposures"]} for loc, r in recs.items()} == {
        "s3://clinic/open/s.wav": {"public-policy"},
        "s3://clinic/vpce/s.wav": set(),  # pinned to a VPC endpoint: not public
        "s3://clinic/anyip/s.wav": {"public-policy"},  # 0.0.0.0/0 restricts nobody
        "s3://clinic/org/s.wav": set(),  # pinned to an organisation
        "s3://clinic/private/s.wav": set(),
        "s3://clinic/private/acl.m4a": {"object-acl"},
        "s3://shared/s.wav": {"authenticated-users-acl"},
        "s3://neutralised/s.wav": set(),  # public-read ACL, but IgnorePublicAcls
    }
    (open_exposure,) = recs["s3://clinic/open/s.wav"]["exposures"]
    assert "Sid 'OpenToAll'" in open_exposure["detail"]
    assert [s["sid"] for s in open_exposure["evidence"]["statements"]] == ["OpenToAll"]
    (anyip,) = recs["s3://clinic/anyip/s.wav"]["exposures"]
    assert anyip["evidence"]["statements"][0]["conditions_not_restricting"] == [
        "IpAddress aws:SourceIp ['0.0.0.0/0']"
    ]
    (acl,) = recs["s3://clinic/private/acl.m4a"]["exposures"]
    assert acl["evidence"]["grants"] == [{"grantee": "AllUsers", "permission": "READ"}]
    neutralised = bucket(result, "neutralised")["facts"]["acl"]
    assert neutralised["public_grants"] == [{"grantee": "AllUsers", "permission": "READ"}]
    assert neutralised["ignored_by"] == "IgnorePublicAcls (bucket)"

    exposed = {
        "s3://clinic/open/s.wav",
        "s3://clinic/anyip/s.wav",
        "s3://clinic/private/acl.m4a",
        "s3://shared/s.wav",
    }
    for location in recs:
        assert ("s3-object-public" in rules_at(result, location)) == (location in exposed), location
    # SSE is no safe harbor: an exposed SSE-encrypted recording is still a presumed breach.
    (breach,) = [
        f
        for f in result["findings"]
        if f["rule"] == "breach-unsecured-exposure" and f["location"] == "s3://clinic/open/s.wav"
    ]
    assert breach["severity"] == "critical" and breach["evidence"]["encryption"] == "sse:AES256"
    (public,) = [
        f
        for f in result["findings"]
        if f["rule"] == "s3-object-public" and f["location"] == "s3://clinic/open/s.wav"
    ]
    assert "Server-side encryption (sse:AES256)" in public["message"]


def test_account_restrict_public_buckets_neutralises_a_public_policy(
    tmp_path: Path, s3world: S3World
) -> None:
    w = s3world
    w.bucket("published", policy=policy(allow_all("arn:aws:s3:::published/*", "Everyone")))
    w.put("published", "a.wav", "session.wav")
    w.account_block("BlockPublicPolicy")  # refuses new public policies; the existing one still works
    first = scan(tmp_path, w, "s3://published")
    assert [e["kind"] for e in first["recordings"][0]["exposures"]] == ["public-policy"]
    assert bucket(first, "published")["facts"]["policy"]["public"] is True

    w.account_block("RestrictPublicBuckets")
    second = scan(tmp_path, w, "s3://published")
    assert second["recordings"][0]["exposures"] == []
    facts = bucket(second, "published")["facts"]
    assert facts["policy"]["restricted_by"] == "RestrictPublicBuckets (account)"
    assert facts["public_access_block"]["account_status"] == "set"
    assert "s3-object-public" not in rules_at(second, "s3://published/a.wav")


def test_key_beside_an_encrypted_recording_voids_the_safe_harbor(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("vault", policy=policy(allow_all("arn:aws:s3:::vault/*", "Everyone")))
    w.put("vault", "apart/s.m4a.gpg", "session.m4a.gpg")
    w.put("vault", "careless/s.m4a.gpg", "session.m4a.gpg")
    w.put(
        "vault", "careless/age-identity.txt", "age-identity.txt"
    )  # .txt: read only because of its neighbour
    result = scan(tmp_path, w, "s3://vault")
    recs = by_location(result)
    assert recs["s3://vault/apart/s.m4a.gpg"]["encryption"] == "content:openpgp"
    assert "keys_beside" not in recs["s3://vault/apart/s.m4a.gpg"]["facts"]
    assert recs["s3://vault/careless/s.m4a.gpg"]["facts"]["keys_beside"] == ["age-identity.txt"]
    assert "breach-unsecured-exposure" not in rules_at(result, "s3://vault/apart/s.m4a.gpg")
    assert "breach-unsecured-exposure" in rules_at(result, "s3://vault/careless/s.m4a.gpg")
    severities = {f["location"]: f["severity"] for f in result["findings"] if f["rule"] == "s3-object-public"}
    assert severities == {"s3://vault/apart/s.m4a.gpg": "low", "s3://vault/careless/s.m4a.gpg": "high"}


# --- encryption, attribution, sniffing ----------------------------------------------------------


def test_sse_variants_and_the_configured_minimum(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("sse")
    w.put("sse", "none.wav", "session.wav")
    w.put("sse", "aes.wav", "session.wav", ServerSideEncryption="AES256")
    w.put("sse", "kms.wav", "session.wav", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/practice")
    w.put("sse", "dsse.wav", "session.wav", ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId="alias/practice")
    w.put("sse", "sealed.m4a.gpg", "session.m4a.gpg", ServerSideEncryption="AES256")
    default = scan(tmp_path, w, "s3://sse")
    recs = by_location(default)
    assert {loc.rsplit("/", 1)[1]: (r["encryption"], r["encrypted"]) for loc, r in recs.items()} == {
        "none.wav": ("none", False),
        "aes.wav": ("sse:AES256", True),
        "kms.wav": ("sse:aws:kms", True),
        "dsse.wav": ("sse:aws:kms:dsse", True),
        "sealed.m4a.gpg": ("content:openpgp", True),
    }
    assert recs["s3://sse/kms.wav"]["facts"]["sse"]["kms_key_id"] == "alias/practice"
    unencrypted = {f["location"] for f in default["findings"] if f["rule"] == "recording-unencrypted"}
    assert unencrypted == {"s3://sse/none.wav"}  # the default minimum accepts any SSE

    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\nencryption:\n  s3_minimum: sse-kms\n")
    strict = scan_json(tmp_path, "s3://sse", "--endpoint-url", w.url, "--config", config)
    unencrypted = {f["location"] for f in strict["findings"] if f["rule"] == "recording-unencrypted"}
    assert unencrypted == {"s3://sse/none.wav", "s3://sse/aes.wav"}


def test_attribution_from_metadata_tags_then_key_patterns(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("notes", ownership="BucketOwnerEnforced")
    w.put(
        "notes",
        "inbox/meta.wav",
        "session.wav",
        Metadata={"client": "C-META", "session-date": "2024-03-01", "purpose": "supervision"},
    )
    w.put("notes", "inbox/tagged.wav", "session.wav", Tagging="client=C-TAG&session-date=2024-01-05")
    w.put("notes", "clients/C-KEY/2024-02-02/s.wav", "session.wav")
    w.put("notes", "inbox/anon.wav", "session.wav")
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\nattribution:\n  patterns:\n    - 'clients/(?P<client>[^/]+)/(?P<date>\\d{4}-\\d{2}-\\d{2})/'\n"
    )
    result = scan_json(tmp_path, "s3://notes", "--endpoint-url", w.url, "--config", config)
    recs = by_location(result)
    meta = recs["s3://notes/inbox/meta.wav"]
    assert (meta["client"], meta["session_date"], meta["purpose"], meta["attribution_source"]) == (
        "C-META",
        "2024-03-01",
        "supervision",
        "metadata",
    )
    assert meta["recorded_at_source"] == "attribution"
    tagged = recs["s3://notes/inbox/tagged.wav"]
    assert (tagged["client"], tagged["session_date"], tagged["attribution_source"]) == (
        "C-TAG",
        "2024-01-05",
        "tags",
    )
    keyed = recs["s3://notes/clients/C-KEY/2024-02-02/s.wav"]
    assert (keyed["client"], keyed["attribution_source"]) == ("C-KEY", "pattern")
    anon = recs["s3://notes/inbox/anon.wav"]
    assert anon["client"] is None and anon["recorded_at_source"] == "last-modified"
    assert anon["recorded_at"] == anon["mtime"] is not None
    # Only the object that has tags and nothing else to go by costs a tagging call.
    assert result["coverage"]["api_calls"]["s3.GetObjectTagging"] == 1


def test_content_decides_and_names_that_settle_it_cost_nothing(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("sniff", ownership="BucketOwnerEnforced")  # ACLs disabled: no ACL calls at all
    w.put("sniff", "a/fake.mp3", "fake.mp3")  # text behind a media name
    w.put("sniff", "a/real.bin", "session.wav")  # a recording behind a neutral name
    w.put("sniff", "a/noise.mp4", "noise.bin")
    w.put("sniff", "a/session.vtt", "session.vtt")
    w.put("sniff", "a/notes.txt", body=b"Dear client")
    w.put("sniff", "a/photo.jpg", body=b"\xff\xd8\xff\xe0 not read")
    w.put("sniff", "a/empty.wav", body=b"")
    result = scan(tmp_path, w, "s3://sniff")
    recs = by_location(result)
    assert set(recs) == {"s3://sniff/a/real.bin", "s3://sniff/a/session.vtt"}
    assert (recs["s3://sniff/a/real.bin"]["format"], recs["s3://sniff/a/real.bin"]["media"]) == (
        "wav",
        "audio",
    )
    cov = result["coverage"]
    assert cov["files_seen"] == 7
    assert cov["candidates"] == 4  # .txt, .jpg and the empty object are never read
    calls = cov["api_calls"]
    assert calls["s3.GetObject"] == 4
    assert not {"s3.HeadObject", "s3.GetObjectAcl", "s3.GetObjectTagging", "s3.GetBucketAcl"} & set(calls)
    assert cov["bytes_read"] <= 4 * 4096
    assert sum(n for op, n in calls.items() if op in BUCKET_OPERATIONS) <= 12


# --- listing ------------------------------------------------------------------------------------


def test_pagination_beyond_a_thousand_keys(tmp_path: Path, s3world: S3World) -> None:
    from moto.s3.models import s3_backends

    w = s3world
    w.bucket("big")
    backend = s3_backends[ACCOUNT]["aws"]
    for i in range(2500):  # straight into the server's store: uploading over HTTP would take seconds
        backend.put_object("big", f"docs/{i:05d}.txt", b"x")
    w.put("big", "zz/last.wav", "session.wav")  # sorts after every page of documents
    result = scan(tmp_path, w, "s3://big")
    assert [r["location"] for r in result["recordings"]] == ["s3://big/zz/last.wav"]
    cov = result["coverage"]
    assert cov["files_seen"] == 2501
    assert cov["api_calls"]["s3.ListObjectsV2"] == 3
    assert cov["api_calls"]["s3.GetObject"] == 1
    assert bucket(result, "big")["facts"]["objects_seen"] == 2501


def test_noncurrent_versions_of_overwritten_and_deleted_recordings(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("history", versioned=True)
    first = w.put("history", "s/overwritten.wav", "session.wav")
    w.put("history", "s/overwritten.wav", "session.m4a")
    gone = w.put("history", "s/deleted.wav", "session.wav")
    w.s3.delete_object(Bucket="history", Key="s/deleted.wav")
    w.put("history", "s/notes.txt", body=b"x")
    result = scan_json(tmp_path, "s3://history", "--endpoint-url", w.url, "--as-of", "2099-01-01")
    recs = by_location(result)
    old = f"s3://history/s/overwritten.wav?versionId={first}"
    deleted = f"s3://history/s/deleted.wav?versionId={gone}"
    assert set(recs) == {"s3://history/s/overwritten.wav", old, deleted}
    assert recs["s3://history/s/overwritten.wav"]["format"] == "m4a"
    assert recs[old]["format"] == "wav"
    assert recs["s3://history/s/overwritten.wav"]["facts"]["noncurrent"] is False
    assert (recs[old]["facts"]["noncurrent"], recs[old]["facts"]["delete_marker"]) == (True, False)
    assert (recs[deleted]["facts"]["noncurrent"], recs[deleted]["facts"]["delete_marker"]) == (True, True)
    assert recs[deleted]["facts"]["noncurrent_since"] is not None
    # A deleted recording still held as a version is judged like any other: here, over-retained.
    assert "retention-exceeded" in rules_at(result, deleted)
    calls = result["coverage"]["api_calls"]
    assert calls["s3.ListObjectVersions"] == 1 and "s3.ListObjectsV2" not in calls
    assert bucket(result, "history")["facts"]["delete_markers"] == 1


def test_lifecycle_object_lock_and_legal_hold_facts(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("kept", object_lock=True)
    w.s3.put_bucket_lifecycle_configuration(
        Bucket="kept",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-sessions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "sessions/"},
                    "Expiration": {"Days": 30},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                },
                {
                    "ID": "other",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "other/"},
                    "Expiration": {"Days": 1},
                },
            ]
        },
    )
    w.put("kept", "sessions/a.wav", "session.wav", ObjectLockLegalHoldStatus="ON")
    result = scan(tmp_path, w, "s3://kept/sessions/")
    (rec,) = result["recordings"]
    assert rec["facts"]["lifecycle_expiry"] == {"rule": "expire-sessions", "days": 30}
    assert rec["facts"]["object_lock"]["legal_hold"] is True
    facts = bucket(result, "kept")["facts"]
    assert facts["prefix"] == "sessions/"
    assert facts["object_lock"]["enabled"] is True
    assert facts["lifecycle_expiry"] == {
        "current": {"rule": "expire-sessions", "days": 30},
        "noncurrent": {"rule": "expire-sessions", "days": 7},
    }


# --- bucket hygiene -----------------------------------------------------------------------------


TLS_ONLY = {
    "Sid": "TlsOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::tidy", "arn:aws:s3:::tidy/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
OWNER_READS = {
    "Sid": "OwnerReads",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "s3:GetObject",
}
BUCKET_RULES = {
    "s3-bucket-public-access-block-off",
    "s3-bucket-tls-not-enforced",
    "s3-bucket-access-logging-off",
    "s3-bucket-default-encryption-off",
    "s3-bucket-website-hosting",
}


def test_bucket_hygiene_findings(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("logs", acl="log-delivery-write")
    w.bucket(
        "tidy",
        encryption="aws:kms",
        block=("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
    )
    w.s3.put_bucket_logging(
        Bucket="tidy",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "tidy/"}},
    )
    w.put("tidy", "a.wav", "session.wav")
    w.s3.put_bucket_policy(Bucket="tidy", Policy=json.dumps(policy(TLS_ONLY)))
    w.bucket("sloppy")
    w.s3.put_bucket_website(Bucket="sloppy", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    w.put("sloppy", "a.wav", "session.wav")
    w.bucket("sloppy-no-recordings")
    w.put("sloppy-no-recordings", "readme.md", body=b"# hi")
    result = scan(tmp_path, w, "s3://")
    assert rules_at(result, "s3://sloppy") == BUCKET_RULES
    assert rules_at(result, "s3://sloppy-no-recordings") == set()  # out of scope: holds no recordings
    tidy = bucket(result, "tidy")
    assert tidy["facts"]["policy"]["tls_only"] is True
    assert tidy["facts"]["access_logging"] == {"enabled": True, "target": "s3://logs/tidy/"}
    assert tidy["encryption"] == "sse:aws:kms"
    assert {b["location"] for b in result["buckets"]} == {
        "s3://logs",
        "s3://tidy",
        "s3://sloppy",
        "s3://sloppy-no-recordings",
    }
    # The TLS-only policy refuses our plain-HTTP reads of tidy's objects (moto enforces it, as S3
    # would): judge every bucket, recordings or not, to see that tidy passes every check.
    pack = tmp_path / "every-bucket.yaml"
    pack.write_text(
        "pack: every-bucket\nversion: '1'\nrules:\n"
        + "".join(
            f"  {rule}: {{params: {{only_with_recordings: false}}}}\n"
            for rule in sorted(BUCKET_RULES - {"s3-bucket-website-hosting"})
        )
    )
    everything = scan_json(tmp_path, "s3://", "--endpoint-url", w.url, "--rules", pack)
    assert rules_at(everything, "s3://tidy") == set()
    assert rules_at(everything, "s3://sloppy-no-recordings") == BUCKET_RULES - {"s3-bucket-website-hosting"}
    assert ("s3://tidy/a.wav", "access-denied") in {
        (g["location"], g["reason"]) for g in everything["coverage"]["skipped"]
    }


# --- failures -----------------------------------------------------------------------------------


def test_access_denied_is_a_gap_and_the_rest_goes_on(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = s3world
    for name in ("good", "policy-hidden", "locked"):
        w.bucket(name, policy=policy(OWNER_READS | {"Resource": f"arn:aws:s3:::{name}/*"}))
        w.put(name, "a.wav", "session.wav")
    iam = w.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="audit",
        PolicyDocument=json.dumps(
            policy(
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::policy-hidden"},
                {
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::locked", "arn:aws:s3:::locked/*"],
                },
            )
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with w.enforcing_iam():
        result = scan(tmp_path, w, "s3://")
    gaps = {(g["location"], g["reason"], g["detail"]) for g in result["coverage"]["skipped"]}
    assert (
        "s3://policy-hidden",
        "access-denied",
        "s3:GetBucketPolicy denied: the bucket policy not read",
    ) in gaps
    assert ("s3://locked", "access-denied", "s3:ListBucket denied") in gaps
    assert result["coverage"]["complete"] is False
    assert set(by_location(result)) == {"s3://good/a.wav", "s3://policy-hidden/a.wav"}
    hidden = bucket(result, "policy-hidden")["facts"]
    assert "policy" in hidden["unknown"] and hidden["policy"] is None
    # An unknown fact is never judged; a known one is.
    assert "s3-bucket-tls-not-enforced" not in rules_at(result, "s3://policy-hidden")
    assert "s3-bucket-tls-not-enforced" in rules_at(result, "s3://good")


def test_no_credentials_exit_2(tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_env(monkeypatch, tmp_path, credentials=False)
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", "s3://anything", "--endpoint-url", s3world.url, "-o", out)
    assert res.exit_code == 2
    assert "no AWS credentials found" in res.output
    assert not out.exists()


def test_missing_bucket_exit_2(tmp_path: Path, s3world: S3World) -> None:
    s3world.bucket("present")
    out = tmp_path / "r.json"
    res = run_cli(
        "scan", "-q", "s3://present", "s3://absent-bucket", "--endpoint-url", s3world.url, "-o", out
    )
    assert res.exit_code == 2
    assert "s3://absent-bucket: bucket 'absent-bucket' does not exist" in res.output
    assert not out.exists()


# --- targets, accounts, endpoints ---------------------------------------------------------------


def test_local_and_s3_targets_in_one_report(tmp_path: Path, s3world: S3World) -> None:
    local = tmp_path / "disk"
    local.mkdir()
    (local / "s.wav").write_bytes((Path(__file__).parent / "fixtures" / "media" / "session.wav").read_bytes())
    s3world.bucket("cloud")
    s3world.put("cloud", "s.wav", "session.wav")
    result = scan(tmp_path, s3world, str(local), "s3://cloud")
    sources = {r["location"]: r["source"] for r in result["recordings"]}
    assert sources == {str(local / "s.wav"): "local", "s3://cloud/s.wav": "s3"}
    assert result["targets"] == [str(local), "s3://cloud"]


def test_roles_scan_several_accounts_into_one_report(tmp_path: Path, s3world: S3World) -> None:
    roles = ["arn:aws:iam::111111111111:role/audit", "arn:aws:iam::222222222222:role/audit"]
    for role, name in zip(roles, ("practice-a", "practice-b"), strict=True):
        account = s3world.as_role(role)
        account.bucket(name)
        account.put(name, "s.wav", "session.wav")
    s3world.bucket("not-in-those-accounts")
    args = [a for role in roles for a in ("--role-arn", role)]
    result = scan_json(tmp_path, "s3://", "--endpoint-url", s3world.url, *args)
    assert set(by_location(result)) == {"s3://practice-a/s.wav", "s3://practice-b/s.wav"}
    accounts = {b["location"]: b["facts"]["account"] for b in result["buckets"]}
    assert accounts == {"s3://practice-a": "111111111111", "s3://practice-b": "222222222222"}
    assert result["coverage"]["api_calls"]["sts.AssumeRole"] == 2
    # A named bucket is scanned with the account that owns it.
    one = scan_json(tmp_path, "s3://practice-b", "--endpoint-url", s3world.url, *args)
    assert bucket(one, "practice-b")["facts"]["account"] == "222222222222"


def test_endpoint_from_the_environment_is_honoured(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3world.bucket("via-env")
    s3world.put("via-env", "s.wav", "session.wav")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3world.url)  # boto3's own setting, no --endpoint-url
    result = scan_json(tmp_path, "s3://via-env")
    assert [r["location"] for r in result["recordings"]] == ["s3://via-env/s.wav"]
    assert bucket(result, "via-env")["facts"]["public_access_block"]["account_status"] == "not-set"


def test_archived_objects_are_judged_by_name_and_head(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("cold", ownership="BucketOwnerEnforced")
    w.put(
        "cold",
        "s/old.wav",
        "session.wav",
        StorageClass="GLACIER",
        ServerSideEncryption="AES256",
        Metadata={"client": "C-9"},
    )
    w.put("cold", "s/blob.bin", "session.wav", StorageClass="DEEP_ARCHIVE")  # no media name: only a gap
    result = scan(tmp_path, w, "s3://cold")
    (rec,) = result["recordings"]
    assert rec["location"] == "s3://cold/s/old.wav"
    assert (rec["media"], rec["format"], rec["encryption"], rec["client"]) == (
        "audio",
        None,
        "sse:AES256",
        "C-9",
    )
    assert rec["facts"]["content_unread"] == "archived (GLACIER)"
    archived = {g["location"] for g in result["coverage"]["skipped"] if g["reason"] == "archived"}
    assert archived == {"s3://cold/s/old.wav", "s3://cold/s/blob.bin"}
    calls = result["coverage"]["api_calls"]
    assert "s3.GetObject" not in calls and calls["s3.HeadObject"] == 1


def test_unknown_profile_exit_2(tmp_path: Path, s3world: S3World) -> None:
    res = run_cli("scan", "-q", "s3://", "--profile", "no-such-profile", "--endpoint-url", s3world.url)
    assert res.exit_code == 2
    assert "AWS profile 'no-such-profile' not found" in res.output


def test_a_role_that_cannot_be_assumed_is_a_gap(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = s3world
    allow_everything = json.dumps(policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    iam = w.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="all", PolicyDocument=allow_everything)
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    # Account 111111111111 lets the auditor in through a role; this account's role trusts nobody here.
    other = w.as_role("arn:aws:iam::111111111111:role/setup")
    other.bucket("reachable")
    other.put("reachable", "s.wav", "session.wav")
    trust_auditor = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/auditor"},
            "Action": "sts:AssumeRole",
        }
    )
    other_iam = other.client("iam")
    reachable = other_iam.create_role(RoleName="audit", AssumeRolePolicyDocument=json.dumps(trust_auditor))
    other_iam.put_role_policy(RoleName="audit", PolicyName="all", PolicyDocument=allow_everything)
    trust_nobody_here = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "sts:AssumeRole",
        }
    )
    refused = iam.create_role(RoleName="audit", AssumeRolePolicyDocument=json.dumps(trust_nobody_here))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    roles = ("--role-arn", refused["Role"]["Arn"], "--role-arn", reachable["Role"]["Arn"])
    with w.enforcing_iam():
        result = scan_json(tmp_path, "s3://", "--endpoint-url", w.url, *roles)
    gaps = {(g["location"], g["reason"]) for g in result["coverage"]["skipped"]}
    assert (refused["Role"]["Arn"], "access-denied") in gaps
    assert [r["location"] for r in result["recordings"]] == ["s3://reachable/s.wav"]
