"""A real S3-speaking HTTP server (moto) on 127.0.0.1 for the S3 tests, and helpers to fill it.

Import the fixtures into a test module (`from tests.conftest_s3 import moto_url, s3world  # noqa: F401`).
The server lives for the whole session; `s3world` wipes its state before each test and points the
AWS environment at fake credentials, so nothing ever reaches AWS.
"""

from __future__ import annotations

import json
import logging
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
    fake_aws_env(monkeypatch, tmp_path)
    _post(f"{moto_url}/moto-api/reset")
    return S3World(moto_url, access_key_id="testing", secret_access_key="testing")
