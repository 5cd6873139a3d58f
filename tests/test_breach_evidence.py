"""`auditor breach evidence` (issue 13 §2): real log files in AWS's documented formats, under the
keys AWS writes them to, in a moto bucket (moto delivers no logs itself), and real WAVs.

Formats and keys:
- S3 server access logs: https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html
  (fields, see tests/test_access_log.py); object keys `[prefix]YYYY-mm-DD-HH-MM-SS-UniqueString`
  (simple) and `[prefix]SourceAccountId/SourceRegion/SourceBucket/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-
  UniqueString` (partitioned), https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetObjectKeyFormat.html
- CloudTrail: `AWSLogs/AccountID/CloudTrail/Region/YYYY/MM/DD/AccountID_CloudTrail_Region_
  YYYYMMDDTHHmmZ_UniqueString.json.gz`, gzip JSON `{"Records": [...]}`,
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html;
  S3 data-event fields (requestParameters.bucketName/key, additionalEventData.bytesTransferredOut,
  errorCode) as in https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html;
  the anonymous caller as `userIdentity.accountId` "anonymous" (Elastic's rule "AWS S3
  Unauthenticated Bucket Access by Rare Source" matches on exactly that).
- Linux audit: Red Hat Security Guide, "Understanding Audit Log Files" (the example below is its own).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.breach import auditlog, cloudtrail
from auditor.breach.access_log import parse_line
from auditor.breach.evidence import access_log_requester, needle
from tests.conftest import place, run_cli
from tests.conftest_s3 import ACCOUNT, S3World, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
PARTNER = "444455556666"  # an account the practice lists as its own (organisation.aws_accounts)
STRANGER = "999988887777"
SIZE = (Path(__file__).parent / "fixtures" / "media" / "session.wav").stat().st_size


@pytest.fixture(autouse=True)
def past_the_top_of_the_hour() -> None:
    """Tests here log a read at minute 1 of the current hour (hours_back(now, 0, 1)), which must lie
    in the past and before the scan that discovers the exposure: in an hour's first 70 seconds it
    would lie in the future (the read then falls outside the exposure window, and the test fails
    at 05:00 for no fault of the code). Wait those seconds out, before the scan."""
    now = datetime.now(UTC)
    into_the_hour = now.minute * 60 + now.second + now.microsecond / 1e6
    if into_the_hour < 70:
        time.sleep(70 - into_the_hour)


def stamp(when: datetime) -> str:
    return when.strftime("[%d/%b/%Y:%H:%M:%S +0000]")


def record(
    when: datetime,
    key: str,
    *,
    bucket: str = "clinic",
    requester: str = "-",
    operation: str = "REST.GET.OBJECT",
    status: int = 200,
    sent: int | None = SIZE,
    size: int | None = SIZE,
    error: str = "-",
    ip: str = "198.51.100.7",
) -> str:
    """One access-log record in the documented field order (27 fields, as written since 2023)."""
    return (
        f"{OWNER} {bucket} {stamp(when)} {ip} {requester} 3E57427F3EXAMPLE {operation} {key} "
        f'"{operation.split(".")[1]} /{bucket}/{key} HTTP/1.1" {status} {error} {sent if sent else "-"} '
        f'{size if size is not None else "-"} 41 12 "-" "curl/8.5.0" - '
        "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= "
        f"{'SigV4' if requester != '-' else '-'} ECDHE-RSA-AES128-GCM-SHA256 "
        f"{'AuthHeader' if requester != '-' else '-'} {bucket}.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1"
    )


def simple_key(prefix: str, delivered: datetime, unique: str) -> str:
    return f"{prefix}{delivered:%Y-%m-%d-%H-%M-%S}-{unique}"


def partitioned_key(prefix: str, bucket: str, delivered: datetime, unique: str) -> str:
    return f"{prefix}{ACCOUNT}/us-east-1/{bucket}/{delivered:%Y/%m/%d}/{delivered:%Y-%m-%d-%H-%M-%S}-{unique}"


def trail_key(delivered: datetime, unique: str) -> str:
    return (
        f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{delivered:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_us-east-1_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


def trail_record(
    when: datetime, key: str, *, identity: dict[str, Any], bucket: str = "clinic", **extra: Any
) -> dict:
    """An S3 data event as CloudTrail writes it (fields of AWS's GetObject data-event example)."""
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "eventName": extra.pop("eventName", "GetObject"),
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "[python-requests/2.31.0]",
        "requestParameters": {
            "bucketName": bucket,
            "Host": f"{bucket}.s3.us-east-1.amazonaws.com",
            "key": key,
        },
        "responseElements": None,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "bytesTransferredOut": extra.pop("bytes_out", SIZE),
            "x-amz-id-2": "Plk5qxp4LoJpRJEteWviQ6J7sEr+Fvx5sn0fUbvBq6cUIexQbZm6lSzeW5e5TNss1l/5cxDmUDPXeKJu12KTmg==",
        },
        "requestID": "HQJGBHZK9QH33KG7",
        "eventID": "8d96391c-83f4-3491-bb84-4b389122ffb9",
        "readOnly": True,
        "resources": [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data",
        **extra,
    }
    return event


ANONYMOUS = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}


def iam_user(account: str, name: str) -> dict[str, str]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAJ45Q7YFFAREXAMPLE",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": name,
    }


# -- units ------------------------------------------------------------------------------------------


def test_requester_classes_in_access_logs() -> None:
    ours = frozenset({PARTNER})
    when = datetime(2026, 11, 20, 9, tzinfo=UTC)
    kinds = {
        who: access_log_requester(parse_line(record(when, "k.wav", requester=who)), ours).kind
        for who in (
            "-",
            f"arn:aws:iam::{PARTNER}:user/alice",
            f"arn:aws:sts::{STRANGER}:assumed-role/x/y",
            OWNER,
            "f" * 64,
        )
    }
    assert kinds == {
        "-": "anonymous",
        f"arn:aws:iam::{PARTNER}:user/alice": "internal",
        f"arn:aws:sts::{STRANGER}:assumed-role/x/y": "external",
        OWNER: "internal",  # the bucket owner's canonical id
        "f" * 64: "external",  # an unknown canonical id
    }


def test_cloudtrail_records() -> None:
    when = datetime(2026, 11, 20, 9, tzinfo=UTC)
    document = {
        "Records": [
            trail_record(when, "a.wav", identity=ANONYMOUS),
            trail_record(
                when, "a.wav", identity=iam_user(STRANGER, "mallory"), errorCode="AccessDenied", bytes_out=0
            ),
            trail_record(
                when, "a.wav", identity=iam_user(PARTNER, "alice"), eventName="HeadObject", bytes_out=0
            ),
            {
                "eventSource": "s3.amazonaws.com",
                "eventName": "ListBuckets",
                "eventTime": "2026-11-20T09:00:00Z",
            },
            {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "not a time"},
            "not a record",
        ]
    }
    events, malformed = cloudtrail.s3_object_events(json.dumps(document).encode())
    # named by their index in Records, with what is wrong
    assert [(index, why.split(" (")[0]) for index, why in malformed] == [
        (len(document["Records"]) - 2, "no requestParameters"),
        (len(document["Records"]) - 1, "not a JSON object"),
    ]
    assert [(e.name, e.anonymous, e.transferred, e.error_code) for e in events] == [
        ("GetObject", True, True, None),
        ("GetObject", False, False, "AccessDenied"),
        ("HeadObject", False, False, None),
    ]
    with pytest.raises(cloudtrail.MalformedTrail):
        cloudtrail.s3_object_events(b"<html>not json</html>")


# The example event of Red Hat's "Understanding Audit Log Files", then real-shaped records of a
# successful openat of a recording by another account (hex-encoded path, relative to its CWD),
# interleaved with an unrelated event, in the ENRICHED format, between ausearch separators.
AUDIT = """type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no exit=-13 a0=7fffd19c5592 a1=0 a2=7fffd19c4b50 a3=a items=1 ppid=2686 pid=3538 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="cat" exe="/bin/cat" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 key="sshd_config"
type=CWD msg=audit(1364481363.243:24287):  cwd="/home/shadowman"
type=PATH msg=audit(1364481363.243:24287): item=0 name="/etc/ssh/sshd_config" inode=409248 dev=fd:00 mode=0100600 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:etc_t:s0  objtype=NORMAL cap_fp=none cap_fi=none cap_fe=0 cap_fver=0
type=PROCTITLE msg=audit(1364481363.243:24287) : proctitle=636174002F6574632F7373682F737368645F636F6E666967
----
time->Fri Nov 20 09:15:02 2026
type=SYSCALL msg=audit(1795166102.101:9001): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=55d0 a2=0 a3=0 items=1 ppid=1 pid=4242 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts1 ses=7 comm="vlc" exe="/usr/bin/vlc" key="recordings"\x1dARCH=x86_64 SYSCALL=openat AUID="bob" UID="bob"
type=SYSCALL msg=audit(1795166102.200:9002): arch=c000003e syscall=4 success=yes exit=0 items=1 ppid=1 pid=1 auid=4294967295 uid=0 comm="systemd" exe="/usr/lib/systemd/systemd" key=(null)
type=CWD msg=audit(1795166102.101:9001): cwd="/srv/therapy"
type=PATH msg=audit(1795166102.101:9001): item=0 name=696E74616B652F432D313030312066697273742E776176 inode=131 dev=fd:00 mode=0100644 ouid=1000 ogid=1000 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0
type=PATH msg=audit(1795166102.200:9002): item=0 name="/etc/passwd" nametype=NORMAL
type=EOE msg=audit(1795166102.101:9001):
garbage line that is not a record
"""


def test_audit_records_name_who_opened_what() -> None:
    malformed: list[tuple[dict[str, int], str]] = []
    wanted = {"/srv/therapy/intake/C-1001 first.wav", "/etc/ssh/sshd_config"}
    # split("\n"), as the reader does: str.splitlines would also split at the 0x1d of ENRICHED records
    found = sorted(
        auditlog.accesses(AUDIT.split("\n"), wanted, lambda where, why: malformed.append((where, why))),
        key=lambda a: a.time,
    )
    assert [(a.path, a.syscall, a.opened, a.success, a.uid, a.auid, a.exe) for a in found] == [
        ("/etc/ssh/sshd_config", "open", True, False, 1000, 1000, "/bin/cat"),
        ("/srv/therapy/intake/C-1001 first.wav", "openat", True, True, 1001, 1001, "/usr/bin/vlc"),
    ]
    assert found[1].time == datetime.fromtimestamp(1795166102.101, tz=UTC)
    garbage = AUDIT.split("\n").index("garbage line that is not a record") + 1
    assert [where for where, _ in malformed] == [{"line": garbage}]  # counted from 1, as an editor does


def test_a_needle_survives_any_url_encoding() -> None:
    assert needle("s3://clinic/intake/C-1001 first session.wav") == "session.wav"
    assert needle("s3://clinic/a/C-1001_2026-11-10.wav") == "C-1001_2026-11-10.wav"


# -- end to end: a public bucket, its logs in moto, the real CLI ----------------------------------


def breach_cli(tmp_path: Path, *args: str | Path) -> Any:
    return run_cli("breach", *args, "--config", tmp_path / "auditor.yaml")


def setup_public_bucket(
    tmp_path: Path, w: S3World, *, logging: bool = True, partitioned: bool = False
) -> dict:
    """A bucket of real WAVs, public by ACL, logging to clinic-logs/access/; scanned into a register."""
    w.bucket("clinic-logs", acl="log-delivery-write")
    w.bucket("clinic")
    w.s3.put_public_access_block(
        Bucket="clinic",
        PublicAccessBlockConfiguration={
            k: False
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        },
    )
    if logging:
        w.s3.put_bucket_logging(
            Bucket="clinic",
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": "clinic-logs", "TargetPrefix": "access/"}
            },
        )
    for key in (
        "intake/C-1001_2026-11-10.wav",
        "intake/C-1002_2026-11-11.wav",
        "intake/C-1003_2026-11-12.wav",
    ):
        w.put("clinic", key, "session.wav", ACL="public-read")
    (tmp_path / "auditor.yaml").write_text(
        f"version: 1\nstate_dir: state\norganisation:\n  name: Riverside\n  aws_accounts: ['{PARTNER}']\n"
        "attribution:\n  patterns:\n    - '(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})'\n"
    )
    res = run_cli("scan", "-q", "s3://clinic", "--endpoint-url", w.url, "--config", tmp_path / "auditor.yaml",
                  "-o", tmp_path / "scan.json")  # fmt: skip
    assert res.exit_code == 1, res.output
    # moto writes log objects of its own for the scan's requests, in a layout of its own (unquoted
    # Request-URI and User-Agent: our parser rejects every line of them). Remove them and stop it:
    # the tests write records in AWS's layout instead. The register keeps the logging facts.
    w.s3.put_bucket_logging(Bucket="clinic", BucketLoggingStatus={})
    for item in w.s3.list_objects_v2(Bucket="clinic-logs").get("Contents", []):
        w.s3.delete_object(Bucket="clinic-logs", Key=item["Key"])
    listed = json.loads(breach_cli(tmp_path, "list", "--json").output)
    return {r["location"].rsplit("/", 1)[-1]: r["id"] for r in listed}


def put_log(w: S3World, key: str, lines: list[str], *, bucket: str = "clinic-logs") -> bytes:
    body = ("\n".join(lines) + "\n").encode()
    w.s3.put_object(Bucket=bucket, Key=key, Body=body)
    return body


def evidence(tmp_path: Path, w: S3World, *args: str | Path) -> dict:
    res = breach_cli(tmp_path, "evidence", *args, "--endpoint-url", w.url, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def by_breach(run: dict, breach_id: int) -> dict:
    (found,) = [r for r in run["recordings"] if r["breach_id"] == breach_id]
    return found


def counts(found: dict) -> dict[tuple[str, str], int]:
    return {(c["outcome"], c["requester"]): c["count"] for c in found["counts"]}


def hours_back(now: datetime, n: int, minute: int = 10) -> datetime:
    return (now - timedelta(hours=n)).replace(minute=minute, second=3, microsecond=0)


def test_reads_attempts_and_requesters_from_simple_format_logs(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    one, two, three = (ids[f"C-100{n}_2026-11-1{n - 1}.wav"] for n in (1, 2, 3))
    now = datetime.now(UTC)
    since, until = hours_back(now, 3, 0), now
    k1, k2, k3 = (
        "intake/C-1001_2026-11-10.wav",
        "intake/C-1002_2026-11-11.wav",
        "intake/C-1003_2026-11-12.wav",
    )
    bodies = {}
    for hour in (3, 2, 1, 0):
        at = hours_back(now, hour, 1 if hour == 0 else 10)
        lines = [
            record(at, "intake/other.txt", requester=f"arn:aws:iam::{ACCOUNT}:user/admin")
        ]  # keeps the hour logged
        if hour == 2:
            lines += [
                record(at, k1),  # anonymous, the whole file
                record(
                    at, k1, requester=f"arn:aws:sts::{STRANGER}:assumed-role/scraper/s", status=206, sent=4096
                ),
                record(at, k1, requester=f"arn:aws:iam::{PARTNER}:user/alice"),  # ours
                record(at, k1, operation="REST.HEAD.OBJECT", sent=None),  # an attempt
                record(at, k2, status=403, error="AccessDenied", sent=243),  # an attempt
                record(at, k2, status=304, sent=None),  # an attempt
                record(at, k2, requester=f"arn:aws:iam::{PARTNER}:user/alice"),  # ours: not "outside"
                record(at, k3, bucket="another-bucket"),  # another bucket's record in the same file
            ]
        key = simple_key("access/", at + timedelta(minutes=40), f"{hour}A2B3C4D5E6F7G8H")
        bodies[f"s3://clinic-logs/{key}"] = put_log(w, key, lines)
    run = evidence(tmp_path, w, "--since", since.isoformat(), "--until", until.isoformat())

    first = by_breach(run, one)
    assert first["verdict"] == "yes"
    assert counts(first) == {
        ("read-full", "anonymous"): 1,
        ("read-partial", "external"): 1,
        ("read-full", "internal"): 1,
        ("attempt", "anonymous"): 1,
    }
    assert first["requester_classes"] == ["anonymous", "external", "internal"]
    second = by_breach(run, two)
    assert second["verdict"] == "no", second["reasons"]  # every hour logged, only attempts and our own reads
    assert counts(second) == {("attempt", "anonymous"): 2, ("read-full", "internal"): 1}
    third = by_breach(run, three)
    assert third["verdict"] == "no" and third["counts"] == []
    assert {f["file"]: f["sha256"] for f in run["files"]} == {
        name: hashlib.sha256(body).hexdigest() for name, body in bodies.items()
    }

    # The register kept it: the first outside read moved the exposure window's start back.
    shown = json.loads(breach_cli(tmp_path, "show", str(one), "--json").output)
    assert shown["evidence"]["verdict"] == "yes"
    assert len(shown["evidence"]["files"]) == 4
    assert shown["exposure_window"]["start_basis"] == "access-log"
    assert shown["exposure_window"]["start"] == hours_back(now, 2).isoformat()
    assert shown["first_discovered"] > shown["exposure_window"]["start"]  # the clock did not move
    assert "evidence" in [e["kind"] for e in shown["events"]]


def test_a_log_gap_is_read_unknown_and_says_which_hours(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    quiet = ids["C-1002_2026-11-11.wav"]
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    since = now - timedelta(hours=5, minutes=30)  # 5 whole hours before `now`'s hour
    for hour in (5, 4, 1):  # no records at all 3 and 2 hours back: gaps
        at = hours_back(now, hour)
        put_log(
            w, simple_key("access/", at + timedelta(minutes=30), f"G{hour}"), [record(at, "intake/other.txt")]
        )
    run = evidence(tmp_path, w, str(quiet), "--since", since.isoformat(), "--until", now.isoformat())
    found = by_breach(run, quiet)
    assert found["verdict"] == "unknown"
    top = now.replace(minute=0)
    assert found["missing_hours"] == [
        {"from": (top - timedelta(hours=3)).isoformat(), "to": (top - timedelta(hours=1)).isoformat()},
        {"from": top.isoformat(), "to": (top + timedelta(hours=1)).isoformat()},
    ]
    assert any("hours of the window have no log records" in r for r in found["reasons"])
    text = breach_cli(tmp_path, "evidence", str(quiet), "--since", since.isoformat(), "--until", now.isoformat(),
                      "--endpoint-url", w.url).output  # fmt: skip
    assert "read by someone outside: unknown" in text and "no log records for 3 of 6 hours (UTC)" in text


def test_malformed_lines_are_counted_and_never_a_crash(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    one, two = ids["C-1001_2026-11-10.wav"], ids["C-1002_2026-11-11.wav"]
    now = datetime.now(UTC)
    at = hours_back(now, 0, 1)
    good = record(at, "intake/C-1003_2026-11-12.wav", requester=f"arn:aws:iam::{PARTNER}:user/alice")
    lines = [
        good,
        record(at, "intake/C-1001_2026-11-10.wav")
        .replace('"GET', '"GET', 1)
        .replace(" 200 ", " 2OO ", 1),  # mentions C-1001
        "\x00\x01binary junk",
        '"unbalanced quote ' + "x" * 5000,
        good.replace("[", "", 1),
    ]
    key = simple_key("access/", at + timedelta(minutes=5), "MALFORMED1")
    put_log(w, key, lines)
    window = ("--since", at.replace(minute=0).isoformat(), "--until", now.isoformat())
    run = evidence(tmp_path, w, *window)
    (digest,) = run["files"]
    assert (digest["lines"], digest["malformed"], digest["error"]) == (5, 4, None)
    # each named with its line in the file (counted from 1) and why, for the officer to open it there
    assert [p["line"] for p in digest["malformed_at"]] == [2, 3, 4, 5]
    assert all("layout" in p["reason"] or "number" in p["reason"] for p in digest["malformed_at"])
    text = breach_cli(tmp_path, "evidence", *window, "--endpoint-url", w.url).output
    assert f"s3://clinic-logs/{key}: 4 malformed, not read: line 2 (" in text
    assert "; line 5 (" in text and "\x00" not in text
    pack = tmp_path / "pack.json"
    assert (
        breach_cli(tmp_path, "report", str(one), "-o", str(pack), "-o", str(tmp_path / "pack.html")).exit_code
        == 0
    )
    (used,) = json.loads(pack.read_text())["evidence_files"]
    assert [p["line"] for p in used["malformed_at"]] == [2, 3, 4, 5]
    assert "<li>line 3: " in (tmp_path / "pack.html").read_text()
    assert by_breach(run, one)["verdict"] == "unknown"
    assert any("could concern this recording could not be read" in r for r in by_breach(run, one)["reasons"])
    assert by_breach(run, two)["unreadable_mentions"] == 0  # no unreadable line can be about it


def read_one_log(tmp_path: Path, at: datetime, lines: list[str]) -> tuple[Any, Any]:
    """`lines` as one access-log file delivered just after `at`, read by the evidence pass for
    one exposed recording (intake/C-1001.wav, exposed an hour either side): its file's figures and
    the recording's evidence."""
    from auditor.breach.evidence import EvidenceRun, RecordingEvidence, S3Target, read_access_logs
    from auditor.breach.logfiles import Window, local_files

    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / simple_key("", at + timedelta(minutes=5), "ONELOG")).write_text("\n".join(lines) + "\n")
    window = Window(at - timedelta(hours=1), at + timedelta(hours=1))
    evidence = RecordingEvidence(1, "s3://clinic/intake/C-1001.wav", "s3", window)
    run = EvidenceRun([evidence])
    target = S3Target("clinic", {"intake/C-1001.wav": evidence}, frozenset(), {"intake/C-1001.wav": SIZE})
    read_access_logs(local_files(str(folder)), target, run, "folder")
    (digest,) = run.files
    return digest, evidence


def test_malformed_lines_keep_their_line_numbers_across_chunks_and_runaway_lines(tmp_path: Path) -> None:
    """The reader hands lines over a MiB at a time and cuts a line longer than MAX_LINE: the line
    numbers named must still be the file's own (as `sed -n Np` would show them)."""
    from auditor.breach.logfiles import CHUNK, MAX_LINE

    at = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    good = record(at, "intake/other.wav")
    lines = [good] * (3 * CHUNK // len(good))  # about three chunks
    bad = {
        len(lines) // 2: "not a record",
        len(lines) // 2 + 2: "x" * (MAX_LINE + 2 * CHUNK),
        len(lines) // 2 + 4: good.replace("[20/Nov/2026:09", "[31/Nov/2026:09"),  # the shape, no such day
        len(lines) // 2 + 6: record(at.replace(day=30), "intake/C-1001.wav").replace("[30/", "[31/"),
        len(lines) - 1: "tail junk",
    }
    for index, text in bad.items():
        lines[index] = text
    digest, evidence = read_one_log(tmp_path, at, lines)
    assert digest.lines == len(lines)
    assert [p["line"] for p in digest.malformed_at] == [index + 1 for index in sorted(bad)]
    # only the impossible time on the recording's own line can be a read of it: it stays unknown
    assert digest.malformed == len(bad) and evidence.unreadable_mentions == 1
    assert digest.malformed_at[2]["reason"] == "no such time [31/Nov/2026:09:05:00 +0000]"


def test_impossible_times_on_any_key_are_counted_and_none_crashes_the_pass(tmp_path: Path) -> None:
    """Every line is checked in full, whichever key it is about: a minute 61 on another key's line
    is a malformed line too (it used to pass, its time never read), and a time that exists in its
    zone but not in UTC (year 1 at +0130, truncated to its hour) is malformed, not an OverflowError."""
    at = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    good = record(at, "intake/other.wav")
    lines = [
        good,
        good.replace("[20/Nov/2026:09:05:00", "[20/Nov/2026:09:61:00"),
        good.replace("[20/Nov/2026:09:05:00 +0000]", "[01/Jan/0001:01:30:00 +0130]"),
        good.replace("[20/Nov/2026:09:05:00 +0000]", "[01/Jan/0001:00:10:00 +0100]"),
        good,
    ]
    digest, evidence = read_one_log(tmp_path, at, lines)
    assert [p["line"] for p in digest.malformed_at] == [2, 3, 4]
    assert all(p["reason"].startswith("no such time [") for p in digest.malformed_at)
    assert evidence.unreadable_mentions == 0  # none of them names the exposed recording


def test_partitioned_keys_and_cloudtrail(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    one, three = ids["C-1001_2026-11-10.wav"], ids["C-1003_2026-11-12.wav"]
    now = datetime.now(UTC)
    at = hours_back(now, 1)
    put_log(w, partitioned_key("access/", "clinic", at + timedelta(minutes=20), "PART1"),
            [record(at, "intake/C-1001_2026-11-10.wav", requester=f"arn:aws:iam::{STRANGER}:user/x", sent=100)])  # fmt: skip
    put_log(w, partitioned_key("access/", "elsewhere", at + timedelta(minutes=20), "PART2"),
            [record(at, "intake/C-1001_2026-11-10.wav", bucket="elsewhere")])  # another source bucket  # fmt: skip
    w.bucket("org-trail")
    trail = {
        "Records": [
            trail_record(at, "intake/C-1003_2026-11-12.wav", identity=ANONYMOUS),
            trail_record(at, "intake/C-1003_2026-11-12.wav", identity=iam_user(STRANGER, "m"), errorCode="AccessDenied", bytes_out=0),
        ]
    }  # fmt: skip
    body = gzip.compress(json.dumps(trail).encode())
    key = trail_key(at + timedelta(minutes=15), "Mu0KsOhtH1ar15ZZ")
    w.s3.put_object(Bucket="org-trail", Key=key, Body=body)
    run = evidence(tmp_path, w, str(one), str(three), "--cloudtrail", "s3://org-trail",
                   "--since", at.replace(minute=0).isoformat(), "--until", now.isoformat())  # fmt: skip
    assert counts(by_breach(run, one)) == {("read-partial", "external"): 1}
    assert counts(by_breach(run, three)) == {("read-full", "anonymous"): 1, ("attempt", "external"): 1}
    assert by_breach(run, three)["verdict"] == "yes"
    names = {f["file"]: f["sha256"] for f in run["files"]}
    assert names[f"s3://org-trail/{key}"] == hashlib.sha256(body).hexdigest()  # of the stored (gzip) bytes
    assert not any("elsewhere" in name for name in names)


def test_the_same_logs_from_a_local_folder(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    one = ids["C-1001_2026-11-10.wav"]
    now = datetime.now(UTC)
    at = hours_back(now, 0, 1)
    key = simple_key("", at + timedelta(minutes=2), "LOCAL1")
    folder = tmp_path / "downloaded-logs"
    folder.mkdir()
    (folder / key).write_text(record(at, "intake/C-1001_2026-11-10.wav") + "\n")
    trail = tmp_path / "trail-copy"
    trail_file = trail / trail_key(at + timedelta(minutes=3), "LocalCopy0000001")
    trail_file.parent.mkdir(parents=True)
    two = ids["C-1002_2026-11-11.wav"]
    record_two = trail_record(
        at, "intake/C-1002_2026-11-11.wav", identity=iam_user(STRANGER, "m"), bytes_out=10
    )
    trail_file.write_bytes(gzip.compress(json.dumps({"Records": [record_two]}).encode()))
    run = evidence(tmp_path, w, str(one), str(two), "--access-logs", folder, "--cloudtrail", trail,
                   "--since", at.replace(minute=0).isoformat())  # fmt: skip
    assert counts(by_breach(run, one)) == {("read-full", "anonymous"): 1}
    assert counts(by_breach(run, two)) == {("read-partial", "external"): 1}
    assert {f["file"] for f in run["files"]} == {str(folder / key), str(trail_file)}


def test_logging_off_is_read_unknown(tmp_path: Path, s3world: S3World) -> None:
    ids = setup_public_bucket(tmp_path, s3world, logging=False)
    run = evidence(tmp_path, s3world, str(ids["C-1001_2026-11-10.wav"]))
    found = run["recordings"][0]
    assert found["verdict"] == "unknown" and run["files"] == []
    assert "server access logging was off when the bucket was scanned" in found["reasons"]


def test_local_exposure_has_no_access_evidence_unless_audit_logs_are_given(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="practice-"))
    try:
        recording = place(root, "Dropbox/C-1001_2026-11-10.wav", "session.wav")
        (tmp_path / "auditor.yaml").write_text("version: 1\nstate_dir: state\n")
        assert run_cli("scan", "-q", root, "--config", tmp_path / "auditor.yaml").exit_code == 1
        plain = breach_cli(tmp_path, "evidence", "1")
        assert plain.exit_code == 0
        assert "read by someone outside: unknown" in plain.output
        assert "no access evidence: a local disk keeps no record of who opened a file" in plain.output
        # With auditd's log: another account opened it.
        log = tmp_path / "audit.log"
        hexed = str(recording).encode().hex().upper()
        when = datetime.now(UTC).timestamp()
        owner = os.stat(recording).st_uid
        log.write_text(
            f"type=SYSCALL msg=audit({when:.3f}:77): arch=c000003e syscall=257 success=yes exit=3 items=1 ppid=1 "
            f'pid=9 auid={owner + 1001} uid={owner + 1001} comm="mpv" exe="/usr/bin/mpv" key="recordings"\n'
            f"type=PATH msg=audit({when:.3f}:77): item=0 name={hexed} nametype=NORMAL\n"
        )
        run = json.loads(breach_cli(tmp_path, "evidence", "1", "--audit-log", log, "--json").output)
        found = run["recordings"][0]
        assert found["verdict"] == "yes"
        assert counts(found) == {("read-full", "external"): 1}
        assert found["accesses"][0]["who"] == f"uid {owner + 1001} via /usr/bin/mpv"
        assert run["files"][0]["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    finally:
        shutil.rmtree(root)


def test_evidence_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text("version: 1\nstate_dir: state\n")
    from auditor.breach.register import BreachRegister

    BreachRegister(tmp_path / "state").close()
    res = breach_cli(tmp_path, "evidence", "--access-logs", tmp_path / "nowhere")
    assert res.exit_code == 2 and "--access-logs: not a folder" in res.output
    assert breach_cli(tmp_path, "evidence", "4").exit_code == 2
