"""Two independent S3-speaking HTTP servers on 127.0.0.1 for the S3 tests, and helpers to fill them.

* moto's ThreadedMotoServer (Python, in this process): S3, STS and S3 Control, most bucket APIs.
* s3rver (npm package, a separate Node.js process from tests/node, installed by `make test`):
  objects and listings, few bucket APIs, no STS; answers some configuration requests with the
  bucket listing. The compatibility paths are tested against it.

Import the fixtures into a test module (`from tests.conftest_s3 import moto_url, s3world`). Each
server lives for the whole session; `s3world` and `s3rver` wipe its state before each test and
point the AWS environment at fake credentials, so nothing ever reaches AWS.
"""

from __future__ import annotations

import json
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from auditor.sources.s3.client import strip_account_host_prefix

MEDIA = Path(__file__).parent / "fixtures" / "media"
S3RVER = Path(__file__).parent / "node" / "node_modules" / ".bin" / "s3rver"
S3RVER_KEY = "S3RVER"  # s3rver's one built-in account: access key id and secret are both this
ACCOUNT = "123456789012"  # moto's default account
AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_S3_CONTROL",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, credentials: bool = True) -> None:
    """Only fake credentials, no config files, no instance metadata: nothing may reach AWS."""
    for name in AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    else:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


def _post(url: str, body: bytes = b"") -> bytes:
    # text/plain: under urllib's default form content type the server would not see the body
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return bytes(resp.read())


class S3World:
    """Builds buckets and objects on the moto server, with the same fake credentials as the scan."""

    def __init__(self, url: str, **credentials: str) -> None:
        self.url = url
        self.credentials = credentials
        self.s3 = self.client("s3")

    def client(self, service: str, **credentials: str) -> Any:
        creds = credentials or self.credentials
        client = boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            config=BotoConfig(s3={"addressing_style": "path"}, max_pool_connections=32),
            **{f"aws_{k}": v for k, v in creds.items()},
        )
        if service == "s3control":  # "123456789012.127.0.0.1" does not resolve
            client.meta.events.register("before-sign", strip_account_host_prefix)
        return client

    def as_role(self, role_arn: str) -> S3World:
        """The same server seen from another account (moto keeps accounts apart by credentials)."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="setup")["Credentials"]
        return S3World(
            self.url,
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
        )

    def bucket(
        self, name: str, *, versioned: bool = False, object_lock: bool = False, **settings: Any
    ) -> str:
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if "policy" in settings:
            self.s3.put_bucket_policy(Bucket=name, Policy=json.dumps(settings["policy"]))
        if "acl" in settings:
            self.s3.put_bucket_acl(Bucket=name, ACL=settings["acl"])
        if "block" in settings:
            self.s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=block_settings(*settings["block"])
            )
        if "ownership" in settings:
            self.s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": settings["ownership"]}]}
            )
        if "encryption" in settings:
            self.s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": settings["encryption"]}}
                    ]
                },
            )
        return name

    def put(
        self, bucket: str, key: str, fixture: str | None = None, body: bytes | None = None, **kw: Any
    ) -> str:
        """Upload a real media fixture (or raw bytes) under `key`; returns the version id if any."""
        data = (MEDIA / fixture).read_bytes() if fixture is not None else (body or b"")
        return str(self.s3.put_object(Bucket=bucket, Key=key, Body=data, **kw).get("VersionId"))

    def put_many(self, bucket: str, keys: list[str], body: bytes = b"x") -> None:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda key: self.s3.put_object(Bucket=bucket, Key=key, Body=body), keys))

    def account_block(self, *flags: str, account: str = ACCOUNT) -> None:
        self.client("s3control").put_public_access_block(
            AccountId=account, PublicAccessBlockConfiguration=block_settings(*flags)
        )

    @contextmanager
    def enforcing_iam(self) -> Iterator[None]:
        """moto checks every request against IAM from here on (real AccessDenied answers)."""
        _post(f"{self.url}/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            _post(f"{self.url}/moto-api/reset-auth", b"inf")


def block_settings(*flags: str) -> dict[str, bool]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    unknown = set(flags) - set(names)
    assert not unknown, unknown
    return {name: name in flags for name in names}


@pytest.fixture
def s3world(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3World:
    """moto as S3, STS and S3 Control at once. A custom S3 endpoint gets STS and S3 Control only
    when the user names their endpoints, as here (tests of the other case delete these two)."""
    fake_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3_CONTROL", moto_url)
    _post(f"{moto_url}/moto-api/reset")
    return S3World(moto_url, access_key_id="testing", secret_access_key="testing")


# --- s3rver ------------------------------------------------------------------------------------


def _wait_for_port(host: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def s3rver_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """s3rver on 127.0.0.1 and a free port, its data in a temporary folder; killed (with anything
    it started: its own process group) when the session ends."""
    if not S3RVER.exists():
        pytest.fail(f"{S3RVER} is missing: run `make node-deps` (npm ci in tests/node) first")
    data = tmp_path_factory.mktemp("s3rver-data")
    proc = subprocess.Popen(
        [str(S3RVER), "--directory", str(data), "--address", "127.0.0.1", "--port", "0", "--silent"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches every child
        preexec_fn=_die_with_parent,
    )
    try:
        port = _s3rver_port(proc, deadline=time.monotonic() + 60)
        _wait_for_port("127.0.0.1", port, deadline=time.monotonic() + 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


def _die_with_parent() -> None:
    """In the child before exec: on Linux, SIGTERM it when pytest dies without tearing down (killed
    by a timeout or a signal), so no s3rver outlives the session. Elsewhere teardown alone stops it."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _s3rver_port(proc: subprocess.Popen[bytes], deadline: float) -> int:
    """The port from s3rver's "S3rver listening on 127.0.0.1:PORT" line (printed even with --silent).

    Read with os.read, not readline: a buffered reader would swallow the line select() waits for."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(fd, 4096)
            if not chunk:  # it exited
                break
            seen += chunk
            m = re.search(rb"listening on [\d.]+:(\d+)", seen)
            if m:
                return int(m.group(1))
    raise RuntimeError(
        f"s3rver did not start (exit code {proc.poll()}): {seen[-2000:].decode(errors='replace')}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if proc.stdout is not None:
        proc.stdout.close()


def empty_store(world: S3World) -> None:
    """Delete every object and bucket, through the S3 API as any client would."""
    for b in world.s3.list_buckets().get("Buckets", []):
        for page in world.s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                world.s3.delete_objects(Bucket=b["Name"], Delete={"Objects": keys})
        world.s3.delete_bucket(Bucket=b["Name"])


@pytest.fixture
def s3rver(s3rver_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3World:
    """An empty s3rver, and an environment whose credentials are s3rver's; no STS endpoint."""
    fake_aws_env(monkeypatch, tmp_path, credentials=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3RVER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3RVER_KEY)
    world = S3World(s3rver_url, access_key_id=S3RVER_KEY, secret_access_key=S3RVER_KEY)
    empty_store(world)
    return world


# --- switching parts of moto off ---------------------------------------------------------------

NOT_IMPLEMENTED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
    b"<Message>A header you provided implies functionality that is not implemented</Message></Error>"
)


def without_policy_status(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers GetBucketPolicyStatus with 501 NotImplemented, as most S3-compatible stores do."""
    from moto.s3.responses import S3Response

    monkeypatch.setattr(S3Response, "get_bucket_policy_status", lambda self: (501, {}, NOT_IMPLEMENTED))


def without_policy_enforcement(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto stops refusing object reads that a bucket policy's Deny names.

    moto applies a Deny to every caller, the bucket owner scanning from 127.0.0.1 included, and
    without the conditions it cannot evaluate; the tests that turn it off are about what the
    policy lets *strangers* do, which the scanner works out from the policy text, so the
    scanner's own reads must go through."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    monkeypatch.setattr(FakeBucket, "get_permission", lambda self, action, resource: PermissionResult.NEUTRAL)
