"""Any S3-compatible store: a scan completes, judges what it read, and lists as gaps what it could not.

s3rver (npm, a separate Node.js process) is the independent implementation: it has no STS, answers
501 NotImplemented or 405 MethodNotAllowed for most bucket configuration APIs, and answers
`?ownershipControls`, `?versioning` and `?logging` with the bucket listing. moto is the second
server, with parts switched off where a store would lack them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.sources.s3.permissions import denied
from tests.conftest import run_cli, scan_json
from tests.conftest_s3 import (
    S3RVER_KEY,
    S3World,
    moto_url,
    s3rver,
    s3rver_url,
    s3world,
    without_policy_status,
)

__all__ = ["moto_url", "s3rver", "s3rver_url", "s3world"]  # fixtures used by this module

HYGIENE_RULES = {
    "s3-bucket-public-access-block-off",
    "s3-bucket-tls-not-enforced",
    "s3-bucket-access-logging-off",
    "s3-bucket-default-encryption-off",
    "s3-bucket-website-hosting",
    "s3-bucket-policy-public",
}


def gaps_of(result: dict[str, Any], location: str) -> dict[str, str]:
    """detail -> reason of the coverage gaps at `location`."""
    return {g["detail"]: g["reason"] for g in result["coverage"]["skipped"] if g["location"] == location}


def bucket(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b for b in result["buckets"] if b["location"] == f"s3://{name}"]
    return found


def test_s3rver_scan_completes_with_gaps_not_findings(tmp_path: Path, s3rver: S3World) -> None:
    s3rver.bucket("practice")
    s3rver.put("practice", "clients/C-1/2024-03-01/s.wav", "session.wav")
    s3rver.put("practice", "notes/readme.txt", body=b"hello")
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", "s3://practice", "--endpoint-url", s3rver.url, "-o", out, "--fail-on", "low")
    assert "Traceback" not in res.output
    result = json.loads(out.read_text())
    assert [r["location"] for r in result["recordings"]] == ["s3://practice/clients/C-1/2024-03-01/s.wav"]
    facts = bucket(result, "practice")["facts"]
    assert set(facts["unknown"]) >= {
        "object_ownership",
        "public_access_block",
        "policy",
        "default_encryption",
        "versioning",
        "lifecycle",
        "object_lock",
        "access_logging",
        "acl",
    }
    gaps = gaps_of(result, "s3://practice")
    by_call = {detail.split(":")[0]: reason for detail, reason in gaps.items()}
    assert by_call == dict.fromkeys(
        [
            "s3.GetBucketOwnershipControls",  # answered with the bucket listing
            "s3.GetBucketVersioning",  # the listing again
            "s3.GetBucketLogging",  # and again
            "s3.GetPublicAccessBlock",  # 501
            "s3.GetBucketPolicy",  # 405
            "s3.GetBucketEncryption",
            "s3.GetBucketLifecycleConfiguration",
            "s3.GetObjectLockConfiguration",
            "s3.GetBucketAcl",
        ],
        "unsupported",
    )
    assert "answered with <ListBucketResult> where S3 answers <BucketLoggingStatus>" in " ".join(gaps)
    # s3rver's object ACL is a stub whose grant names no permission: not "private", a gap.
    (acl_gap,) = gaps_of(result, "s3://practice/clients/C-1/2024-03-01/s.wav").items()
    assert acl_gap[0].startswith("s3.GetObjectAcl: grant #0 does not name a grantee and a permission")
    assert acl_gap[1] == "unparseable"
    assert len(gaps_of(result, "s3:// account (default credentials)")) == 2  # STS, S3 Control
    # Nothing unread is judged: no hygiene finding, no exposure.
    assert not HYGIENE_RULES & {f["rule"] for f in result["findings"]}
    assert result["recordings"][0]["exposures"] == []
    assert facts["website"] == {"enabled": False}  # s3rver supports this one: read and known
    assert result["coverage"]["complete"] is False
    calls = result["coverage"]["api_calls"]
    assert not any(op.startswith(("sts.", "s3control.")) for op in calls)
    assert res.exit_code == 1  # the unencrypted recording: findings, and nothing else, make exit 1


def test_a_store_scan_without_findings_exits_0(tmp_path: Path, s3rver: S3World) -> None:
    s3rver.bucket("quiet")
    s3rver.put("quiet", "notes/readme.txt", body=b"hello")
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", "s3://quiet", "--endpoint-url", s3rver.url, "-o", out, "--fail-on", "low")
    assert res.exit_code == 0, res.output  # gaps alone never make exit 1
    result = json.loads(out.read_text())
    assert result["findings"] == [] and result["coverage"]["complete"] is False


# --- endpoint configuration forms -----------------------------------------------------------------


def write_aws_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "no-aws-config").write_text(text)  # where fake_aws_env points AWS_CONFIG_FILE


@pytest.mark.parametrize(
    "form", ["--endpoint-url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "profile endpoint_url"]
)
def test_every_endpoint_form_reaches_the_store_and_never_sends_it_sts(
    form: str, tmp_path: Path, s3rver: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3rver.bucket("forms")
    s3rver.put("forms", "s.wav", "session.wav")
    args = ["scan", "-q", "s3://forms", "-o", tmp_path / "r.json"]
    if form == "--endpoint-url":
        args += ["--endpoint-url", s3rver.url]
    elif form == "profile endpoint_url":
        # A named profile takes its credentials from the files, not the environment.
        write_aws_config(
            tmp_path,
            f"[profile store]\nendpoint_url = {s3rver.url}\nregion = us-east-1\n"
            f"aws_access_key_id = {S3RVER_KEY}\naws_secret_access_key = {S3RVER_KEY}\n",
        )
        args += ["--profile", "store"]
    else:
        monkeypatch.setenv(form, s3rver.url)
    res = run_cli(*args)
    assert res.exit_code == 1, res.output  # the unencrypted recording
    result = json.loads((tmp_path / "r.json").read_text())
    assert [r["location"] for r in result["recordings"]] == ["s3://forms/s.wav"]
    assert not any(op.startswith(("sts.", "s3control.")) for op in result["coverage"]["api_calls"])
    account_gaps = [
        g["detail"] for g in result["coverage"]["skipped"] if g["location"].startswith("s3:// account")
    ]
    assert any("the account id is unknown" in d for d in account_gaps)
    assert bucket(result, "forms")["facts"]["account"] is None


def test_sts_and_s3_control_named_in_a_services_section_are_used(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3_CONTROL")
    s3world.bucket("named")
    s3world.account_block("RestrictPublicBuckets")
    write_aws_config(
        tmp_path,
        "[profile audit]\nservices = local\nregion = us-east-1\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n\n[services local]\n"
        f"s3 =\n  endpoint_url = {s3world.url}\nsts =\n  endpoint_url = {s3world.url}\n"
        f"s3_control =\n  endpoint_url = {s3world.url}\n",
    )
    result = scan_json(tmp_path, "s3://named", "--profile", "audit", "--rules", _every_bucket_pack(tmp_path))
    facts = bucket(result, "named")["facts"]
    assert facts["account"] == "123456789012"
    assert facts["public_access_block"]["account_status"] == "set"
    assert result["coverage"]["api_calls"]["sts.GetCallerIdentity"] == 1


def test_without_sts_the_account_is_unknown_and_the_rest_is_judged(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3_CONTROL")
    s3world.bucket("plain", encryption="AES256")
    s3world.put("plain", "s.wav", "session.wav")
    result = scan_json(tmp_path, "s3://plain", "--endpoint-url", s3world.url)
    facts = bucket(result, "plain")["facts"]
    assert facts["account"] is None and facts["public_access_block"]["account_status"] == "unavailable"
    assert facts["public_access_block"]["effective"] is None  # the account level is unknown
    rules = {f["rule"] for f in result["findings"] if f["location"] == "s3://plain"}
    assert "s3-bucket-access-logging-off" in rules  # read, so judged
    assert "s3-bucket-public-access-block-off" not in rules  # not known, so not judged
    assert "s3-bucket-default-encryption-off" not in rules


def test_a_role_needs_sts(tmp_path: Path, s3rver: S3World) -> None:
    res = run_cli(
        "scan", "-q", "s3://x", "--endpoint-url", s3rver.url, "--role-arn", "arn:aws:iam::111111111111:role/a"
    )
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "auditor: error: --role-arn: assuming a role needs STS, and a custom S3 endpoint has no STS unless "
        "AWS_ENDPOINT_URL_STS (or an `sts` entry in the profile's services section) names one"
    ]


def _every_bucket_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "every-bucket.yaml"
    pack.write_text(
        "pack: every-bucket\nversion: '1'\nrules:\n"
        "  s3-bucket-public-access-block-off: {params: {only_with_recordings: false}}\n"
    )
    return pack


# --- problems with the whole run: exit 2 and one line ---------------------------------------------


def one_error_line(res: Any) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    (line,) = res.output.strip().splitlines()
    assert line.startswith("auditor: error: ")
    return str(line)


def test_rejected_credentials_unreachable_endpoint_and_unknown_bucket_exit_2(
    tmp_path: Path, s3rver: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3rver.bucket("exists")
    assert "does not exist" in one_error_line(
        run_cli("scan", "-q", "s3://absent", "--endpoint-url", s3rver.url)
    )
    with socket_closed() as dead:
        assert "cannot reach S3: " in one_error_line(
            run_cli("scan", "-q", "s3://exists", "--endpoint-url", dead)
        )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOT-" + S3RVER_KEY)
    line = one_error_line(run_cli("scan", "-q", "s3://exists", "--endpoint-url", s3rver.url))
    assert "rejected the credentials (InvalidAccessKeyId" in line


class socket_closed:
    """A URL on 127.0.0.1 where nothing listens (a port bound, then released)."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        return None


# --- every botocore exception ends as a gap or as exit 2 ------------------------------------------


def _instances() -> list[BaseException]:
    """One instance of every exception class botocore can raise from a call, and ours."""
    import inspect
    import string

    import botocore.exceptions as be
    from botocore.parsers import ResponseParserError

    from auditor.sources.s3.errors import UnexpectedAnswer

    found: list[BaseException] = []
    for _, cls in inspect.getmembers(be, inspect.isclass):
        if not issubclass(cls, be.BotoCoreError | be.ClientError) or issubclass(cls, Warning):
            continue
        if issubclass(cls, be.ClientError):
            found.append(cls({"Error": {"Code": "InternalError", "Message": "boom"}}, "GetObject"))
            continue
        fields = {f for _, f, _, _ in string.Formatter().parse(cls.fmt) if f}
        # A few take positional arguments of their own besides the message fields.
        params = [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty
        ]
        found.append(cls(**dict.fromkeys(fields | set(params), "x")))
    found.append(ResponseParserError("Unable to parse response (syntax error), invalid XML received"))
    found.append(UnexpectedAnswer(operation="s3.GetBucketLogging", detail="answered with <ListBucketResult>"))
    return found


def test_every_exception_class_is_either_about_the_run_or_a_gap() -> None:
    from auditor.sources.s3.errors import CALL_ERRORS, call_problem, run_message, run_problem

    reasons = {
        "access-denied",
        "unsupported",
        "unparseable",
        "throttled",
        "unreachable",
        "vanished",
        "api-error",
    }
    instances = _instances()
    assert len(instances) > 90
    for exc in instances:
        assert isinstance(exc, CALL_ERRORS), type(exc)
        problem = run_problem(exc)
        if problem is None:
            assert call_problem(exc, "s3.GetObject").reason in reasons, type(exc)
        message = run_message(exc)
        assert message and "\n" not in message, type(exc)
    kinds = {type(e).__name__: run_problem(e) is not None for e in instances}
    # Credentials and configuration end the run; a failed answer is one fact's gap.
    assert kinds["NoCredentialsError"] and kinds["ProfileNotFound"] and kinds["InvalidRegionError"]
    assert not kinds["ReadTimeoutError"] and not kinds["ResponseParserError"] and not kinds["ChecksumError"]


def _representatives() -> dict[str, BaseException]:
    """One exception of each way a call can fail (every class maps to one of these, see above)."""
    import botocore.exceptions as be
    from botocore.parsers import ResponseParserError

    def client_error(code: str, status: int) -> be.ClientError:
        response: Any = {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return be.ClientError(response, "Op")

    return {
        "AccessDenied": client_error("AccessDenied", 403),
        "NotImplemented": client_error("NotImplemented", 501),
        "InternalError": client_error("InternalError", 500),
        "ResponseParserError": ResponseParserError("invalid XML received"),
        "ReadTimeoutError": be.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        "EndpointConnectionError": be.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        "NoCredentialsError": be.NoCredentialsError(),
    }


# Calls that fail together in one scan (a failed listing or GetObject would hide the calls after it).
SITES = [
    ("s3.GetBucketEncryption", "s3.GetBucketPolicyStatus", "s3.GetObjectAcl", "sts.GetCallerIdentity"),
    ("s3.GetObject", "s3control.GetPublicAccessBlock"),
    ("s3.ListObjectsV2",),
    ("s3.ListBuckets",),
    ("s3.HeadBucket",),
]
# Where a failure that is not about credentials or configuration still stops the run: the calls
# the whole target depends on, when the endpoint cannot be reached or its answer cannot be read.
WHOLE_TARGET = {
    "s3.ListBuckets": ("EndpointConnectionError",),
    "s3.HeadBucket": ("ResponseParserError", "ReadTimeoutError", "EndpointConnectionError"),
}


@pytest.mark.parametrize("name", sorted(_representatives()))
def test_a_failure_at_any_call_ends_as_a_gap_or_exit_2(
    name: str, tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3.session

    from auditor.sources.s3.errors import run_problem

    owner_reads = {
        "Effect": "Allow",
        "Principal": {"AWS": "111122223333"},
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    s3world.bucket("target", policy={"Statement": [owner_reads]})
    s3world.put("target", "s.wav", "session.wav")
    exc = _representatives()[name]
    failing: set[str] = set()
    original = boto3.session.Session.client

    def client(session: Any, *args: Any, **kwargs: Any) -> Any:
        made = original(session, *args, **kwargs)

        def fail(model: Any, **_: Any) -> None:
            if f"{model.service_model.service_name}.{model.name}" in failing:
                raise exc

        made.meta.events.register("before-call", fail)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    for sites in SITES:
        failing.clear()
        failing.update(sites)
        out = tmp_path / f"{sites[0]}.json"
        res = run_cli("scan", "-q", "s3://", "--endpoint-url", s3world.url, "-o", out)
        assert "Traceback" not in res.output
        if run_problem(exc) or any(name in WHOLE_TARGET.get(site, ()) for site in sites):
            one_error_line(res)
            continue
        assert res.exit_code in (0, 1), (sites, res.output)
        details = [g["detail"] for g in json.loads(out.read_text())["coverage"]["skipped"]]
        for site in sites:
            wording = site if name != "AccessDenied" else denied(site)
            assert any(d.startswith(wording) for d in details), (site, details)


# --- the same answers from two servers -------------------------------------------------------------


def test_s3rver_and_moto_without_policy_status_give_the_same_exposure_answers(
    tmp_path: Path, s3rver: S3World, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's "same exposure answers" on the only buckets both servers can hold: s3rver stores
    no bucket policy and no ACL (PutBucketPolicy and PutBucketAcl are 501 NotImplemented), so the buckets here have neither,
    and both answers are "no exposure" (s3rver's with the policy and ACL as gaps). Exposure through a
    policy or an ACL is tested on moto alone (test_s3_exposure.py); docs/s3.md says so."""
    without_policy_status(monkeypatch)
    keys = ["clients/C-1/2024-03-01/a.wav", "inbox/b.m4a", "public/intro.wav"]
    for world in (s3rver, s3world):
        world.bucket("practice")
        for key in keys:
            world.put("practice", key, "session.m4a" if key.endswith(".m4a") else "session.wav")

    def answers(world: S3World, credentials: str) -> dict[str, Any]:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials)
        result = scan_json(tmp_path, "s3://practice", "--endpoint-url", world.url)
        return {
            "recordings": {r["location"]: r["exposures"] for r in result["recordings"]},
            "bucket": bucket(result, "practice")["exposures"],
            "exposure findings": sorted(
                (f["rule"], f["location"])
                for f in result["findings"]
                if f["rule"] in ("s3-object-public", "breach-unsecured-exposure", "s3-bucket-policy-public")
            ),
        }

    on_s3rver, on_moto = answers(s3rver, S3RVER_KEY), answers(s3world, "testing")
    assert on_s3rver == on_moto
    assert on_moto["exposure findings"] == [] and on_moto["bucket"] == []  # the narrow answer
    # Why no policy or ACL bucket is compared: s3rver refuses to store either.
    import botocore.exceptions

    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
    for store in (
        lambda: s3rver.s3.put_bucket_policy(Bucket="practice", Policy=json.dumps(policy)),
        lambda: s3rver.s3.put_bucket_acl(Bucket="practice", ACL="public-read"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            store()
        assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert set(on_moto["recordings"]) == {f"s3://practice/{k}" for k in keys}


def test_answers_without_the_fields_they_must_carry_are_gaps(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store (or a proxy) that answers 200 with an empty document: no KeyError, a gap."""
    import boto3.session

    s3world.bucket("target")
    original = boto3.session.Session.client

    class Ok:
        status_code = 200

    def client(session: Any, *args: Any, **kwargs: Any) -> Any:
        made = original(session, *args, **kwargs)

        def empty(model: Any, **_: Any) -> Any:
            if f"{model.service_model.service_name}.{model.name}" in WITHOUT_FIELDS:
                return Ok(), {"ResponseMetadata": {"HTTPStatusCode": 200}}
            return None

        made.meta.events.register("before-call", empty)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    for operation in ("sts.GetCallerIdentity", "s3control.GetPublicAccessBlock"):
        WITHOUT_FIELDS[:] = [operation]
        result = scan_json(tmp_path, "s3://target", "--endpoint-url", s3world.url)
        details = [
            g["detail"] for g in result["coverage"]["skipped"] if g["location"].startswith("s3:// account")
        ]
        missing = (
            "an answer without Account"
            if operation.startswith("sts.")
            else "no PublicAccessBlockConfiguration"
        )
        assert any(d.startswith(f"{operation}: {missing}") for d in details), details


WITHOUT_FIELDS: list[str] = []


# --- answers that are not XML: a gap at once, not after botocore's retries -------------------------


class BreakingProxy:
    """A proxy in front of moto that cuts short the answers to chosen query strings (`?encryption`,
    or the bare `/` of ListBuckets) and counts the requests for each: a broken S3-compatible store,
    or a proxy in front of one, that answers some APIs with XML no parser can read."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        self.breaks: set[str] = set()
        self.counts: dict[str, int] = {}
        proxy = self
        target = urlsplit(upstream)

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                query = urlsplit(self.path).query.split("=")[0] or urlsplit(self.path).path
                proxy.counts[query] = proxy.counts.get(query, 0) + 1
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                upstream_conn.request(self.command, self.path, body, dict(self.headers))
                answer = upstream_conn.getresponse()
                data = answer.read()
                if query in proxy.breaks and answer.status == 200:
                    data = data[: len(data) // 2]  # cut mid-document
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def breaking_proxy(s3world: S3World) -> Any:
    proxy = BreakingProxy(s3world.url)
    yield proxy
    proxy.close()


def test_an_answer_that_is_not_xml_is_a_gap_at_once_not_after_the_retries(
    tmp_path: Path, s3world: S3World, breaking_proxy: BreakingProxy
) -> None:
    """botocore reads a 200 that is not well-formed XML as an AWS answer cut short and retries it
    8 times, backing off (5-10 s a call); from a store that is not AWS it is the same every time."""
    s3world.bucket("practice")
    s3world.s3.put_bucket_encryption(
        Bucket="practice",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3world.put("practice", "s.wav", "session.wav")
    breaking_proxy.breaks = {"encryption"}
    out = tmp_path / "r.json"
    res = run_cli(
        "scan", "-q", "s3://practice", "--endpoint-url", breaking_proxy.url, "-o", out, "--fail-on", "none"
    )
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    assert breaking_proxy.counts["encryption"] == 1  # asked once, not 9 times
    result = json.loads(out.read_text())
    (detail,) = [d for d in gaps_of(result, "s3://practice") if d.startswith("s3.GetBucketEncryption")]
    assert gaps_of(result, "s3://practice")[detail] == "unparseable"
    assert "the store answered 200 with a body that is not XML" in detail
    assert "default_encryption" in bucket(result, "practice")["facts"]["unknown"]
    assert "s3-bucket-default-encryption-off" not in {f["rule"] for f in result["findings"]}

    breaking_proxy.breaks = {"/"}  # ListBuckets, for s3://
    breaking_proxy.counts.clear()
    res = run_cli("scan", "-q", "s3://", "--endpoint-url", breaking_proxy.url, "-o", out, "--fail-on", "none")
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    assert breaking_proxy.counts["/"] == 1
    skipped = json.loads(out.read_text())["coverage"]["skipped"]
    assert [g["reason"] for g in skipped if g["detail"].startswith("s3.ListBuckets")] == ["unparseable"]


def test_an_s3_error_inside_a_200_is_still_retried(
    tmp_path: Path, s3world: S3World, breaking_proxy: BreakingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side: S3 may send `<Error>` inside a 200 (S3 API Reference, CopyObject); botocore
    retries that as a 500, and so do we, for any store."""
    from auditor.sources.s3.errors import refuse_unreadable_answer

    class Model:
        output_shape = None
        has_event_stream_output = False

    answer = {"status_code": 200, "body": b"<Error><Code>InternalError</Code></Error>"}
    refuse_unreadable_answer(Model(), answer)  # no output shape: not an XML answer, left alone
    assert answer["status_code"] == 200
    import boto3

    model = boto3.client("s3", region_name="us-east-1").meta.service_model.operation_model(
        "GetBucketEncryption"
    )
    refuse_unreadable_answer(model, answer)
    assert answer["status_code"] == 500
    policy_model = boto3.client("s3", region_name="us-east-1").meta.service_model.operation_model(
        "GetBucketPolicy"
    )
    raw = {"status_code": 200, "body": b"{not xml, a JSON policy"}
    refuse_unreadable_answer(policy_model, raw)  # its payload is the policy text itself
    assert raw["status_code"] == 200
