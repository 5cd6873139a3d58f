"""AWS access for the S3 source: credentials, endpoints, role assumption, call counting, errors.

One `AccountAccess` per identity the scan uses: the standard boto3 credential chain (with
--profile/--region), or one assumed role per --role-arn. Endpoints are boto3's own business
(AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the config file) unless --endpoint-url is given; any
endpoint that is not AWS gets path-style addressing, which S3-compatible servers expect.
Retries are botocore's adaptive mode, which also rate-limits the client when S3 throttles.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from auditor.errors import InputError

DEFAULT_REGION = "us-east-1"
DEFAULT_WORKERS = 16
ROLE_SESSION_NAME = "recording-auditor"
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"}
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "InvalidToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "UnrecognizedClientException",
    }
)
UNSUPPORTED_CODES = frozenset({"NotImplemented", "XNotImplemented", "MethodNotAllowed", "501", "405"})


@dataclass(frozen=True)
class S3Settings:
    """The S3 source's settings: `sources.s3` in the config with the command-line options on top
    (auditor/sources/s3/plugin.py declares both)."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    role_arns: tuple[str, ...] = ()
    workers: int = DEFAULT_WORKERS

    @classmethod
    def from_options(cls, raw: Mapping[str, Any]) -> S3Settings:
        return cls(
            profile=raw.get("profile") or None,
            region=raw.get("region") or None,
            endpoint_url=raw.get("endpoint_url") or None,
            role_arns=tuple(raw.get("role_arns") or ()),
            workers=int(raw.get("workers") or DEFAULT_WORKERS),
        )


class CallCounter:
    """Counts every API call by "service.Operation" (botocore's before-call event), thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self._lock:
            self._counts[name] += 1

    def drain(self) -> dict[str, int]:
        """The counts since the last drain (each call is reported once)."""
        with self._lock:
            counts = dict(self._counts)
            self._counts.clear()
        return counts


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', '')}: {err.get('Message', '')}".strip(": ")
    return str(exc)


def is_access_denied(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED_CODES


def credential_problem(exc: BaseException) -> str | None:
    """A message when `exc` means the credentials are missing, invalid or expired."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials ({exc})"
    if isinstance(exc, ClientError) and error_code(exc) in CREDENTIAL_CODES:
        return f"AWS rejected the credentials ({error_message(exc)})"
    name = type(exc).__name__
    if name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError"):
        return f"AWS SSO login needed ({exc})"
    return None


def is_aws_endpoint(url: str | None) -> bool:
    host = (urlsplit(url).hostname or "") if url else ""
    return not url or host.endswith(_AWS_HOST_SUFFIXES)


def strip_account_host_prefix(request: Any, **_: Any) -> None:
    """S3 Control puts the account id in front of the host ("123.s3-control..."): a custom
    endpoint such as http://127.0.0.1:9000 cannot take that, so drop it before signing."""
    parts = urlsplit(request.url)
    head, dot, rest = parts.netloc.partition(".")
    if dot and head.isdigit() and len(head) == 12:
        request.url = urlunsplit(parts._replace(netloc=rest))


class AccountAccess:
    """Clients for one identity: the default credentials, or one assumed role."""

    def __init__(
        self,
        session: boto3.Session,
        settings: S3Settings,
        counter: CallCounter,
        *,
        label: str,
        account_id: str | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.counter = counter
        self.label = label
        self.region = session.region_name or settings.region or DEFAULT_REGION
        self._account_id = account_id
        self._lock = threading.Lock()
        self._s3: dict[str, Any] = {}
        self._others: dict[str, Any] = {}
        self.custom_endpoint = False
        self.s3()  # learns which endpoint boto3 resolved, hence custom_endpoint

    def _config(self, *, path_style: bool = False, **extra: Any) -> BotoConfig:
        kwargs: dict[str, Any] = {
            "retries": {"mode": "adaptive", "max_attempts": 8},
            "max_pool_connections": self.settings.workers * 4,
            "user_agent_extra": "recording-auditor",
            **extra,
        }
        if path_style:
            kwargs["s3"] = {"addressing_style": "path"}
        return BotoConfig(**kwargs)

    def _client(self, service: str, region: str, *, path_style: bool = False) -> Any:
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config(path_style=path_style)}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        client = self.session.client(service, **kwargs)
        self.counter.attach(client)
        return client

    def s3(self, region: str | None = None) -> Any:
        """The S3 client for `region` (buckets answer in their own region on AWS)."""
        region = region or self.region
        if self.custom_endpoint:
            region = self.region  # one server, whatever region a bucket reports
        with self._lock:
            client = self._s3.get(region)
            if client is None:
                client = self._client("s3", region, path_style=self.custom_endpoint)
                if not self.custom_endpoint and not is_aws_endpoint(client.meta.endpoint_url):
                    # An endpoint from the environment or config file: S3-compatible servers want path style.
                    self.custom_endpoint = True
                    client = self._client("s3", region, path_style=True)
                self._s3[region] = client
            return client

    def _other(self, service: str) -> Any:
        with self._lock:
            client = self._others.get(service)
            if client is None:
                client = self._client(service, self.region)
                if service == "s3control" and not is_aws_endpoint(client.meta.endpoint_url):
                    client.meta.events.register("before-sign", strip_account_host_prefix)
                self._others[service] = client
            return client

    def sts(self) -> Any:
        return self._other("sts")

    def s3control(self) -> Any | None:
        """None when S3 is a custom endpoint but S3 Control would be AWS: no account-level
        Block Public Access exists for a non-AWS server."""
        client = self._other("s3control")
        if self.custom_endpoint and is_aws_endpoint(client.meta.endpoint_url):
            return None
        return client

    def account_id(self) -> str:
        """The account of these credentials (sts GetCallerIdentity, once)."""
        if self._account_id is None:
            self._account_id = str(self.sts().get_caller_identity()["Account"])
        return self._account_id

    @property
    def known_account_id(self) -> str | None:
        return self._account_id


def base_session(settings: S3Settings) -> boto3.Session:
    """The session of the default credentials (or --profile); InputError when none can be found."""
    try:
        session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
    except ProfileNotFound as exc:
        raise InputError("--profile", f"AWS profile {settings.profile!r} not found") from exc
    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # e.g. a broken credential_process or an SSO profile without login
        raise InputError("s3://", f"cannot load AWS credentials: {exc}") from exc
    if credentials is None:
        raise InputError(
            "s3://",
            "no AWS credentials found: set AWS_PROFILE or pass --profile, export AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login`",
        )
    return session


def _role_account(role_arn: str) -> str | None:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def _assumed_session(base: AccountAccess, role_arn: str) -> boto3.Session:
    """A session whose credentials come from sts:AssumeRole and renew themselves before expiry."""
    sts = base.sts()

    def fetch() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = botocore.session.get_session()
    core._credentials = refreshable  # botocore has no public setter for ready refreshable credentials
    return boto3.Session(botocore_session=core, region_name=base.region)


def open_accounts(
    settings: S3Settings, counter: CallCounter, on_role_error: Callable[[str, BaseException], None]
) -> list[AccountAccess]:
    """The identities to scan with: each assumed role when --role-arn is given, else the default."""
    default = base_session(settings)
    label = f"profile {settings.profile}" if settings.profile else "default credentials"
    base = AccountAccess(default, settings, counter, label=label)
    if not settings.role_arns:
        return [base]
    accounts = []
    for role_arn in settings.role_arns:
        try:
            session = _assumed_session(base, role_arn)
        except (ClientError, BotoCoreError) as exc:
            problem = credential_problem(exc)
            if problem:
                raise InputError("s3://", problem) from exc
            on_role_error(role_arn, exc)
            continue
        accounts.append(
            AccountAccess(session, settings, counter, label=role_arn, account_id=_role_account(role_arn))
        )
    return accounts
