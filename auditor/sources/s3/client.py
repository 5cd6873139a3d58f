"""AWS access for the S3 source: credentials, endpoints, role assumption, call counting.

One `AccountAccess` per identity the scan uses: the standard boto3 credential chain (with
--profile/--region), or one assumed role per --role-arn. The S3 endpoint is boto3's own business
(AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, `endpoint_url` in the profile) unless --endpoint-url is
given; any endpoint that is not AWS gets path-style addressing, which S3-compatible servers expect.

STS and S3 Control exist on AWS, not on S3-compatible stores. With a custom S3 endpoint they are
called only when the user names an endpoint for that very service (AWS_ENDPOINT_URL_STS,
AWS_ENDPOINT_URL_S3_CONTROL, or the profile's `services` section): the global AWS_ENDPOINT_URL, a
profile's own `endpoint_url` and --endpoint-url name the S3 store, and sending STS there crashes on
its answer. Without them the account id and account-level Block Public Access are unknown, and the
coverage says so. Retries are botocore's adaptive mode, which also rate-limits the client when S3
throttles; a store that is not AWS answering a call with something that is not XML fails that call
at once instead of after every retry (errors.refuse_unreadable_answer).
"""

from __future__ import annotations

import functools
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.handlers
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ProfileNotFound

from auditor.errors import InputError
from auditor.sources.s3.errors import (
    CALL_ERRORS,
    UnexpectedAnswer,
    check_answer,
    refuse_unreadable_answer,
    run_problem,
)

DEFAULT_REGION = "us-east-1"
DEFAULT_WORKERS = 16
ROLE_SESSION_NAME = "recording-auditor"
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


@dataclass(frozen=True)
class S3Settings:
    """The S3 source's settings: `sources.s3` in the config with the command-line options on top
    (auditor/sources/s3/plugin.py declares both)."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    role_arns: tuple[str, ...] = ()
    workers: int = DEFAULT_WORKERS
    inventory: str | None = None  # s3://dest/prefix/ or "auto": read S3 Inventory instead of listing
    inventory_list_pages: int = 0  # ListObjectsV2 pages for objects newer than the inventory

    @classmethod
    def from_options(cls, raw: Mapping[str, Any]) -> S3Settings:
        return cls(
            profile=raw.get("profile") or None,
            region=raw.get("region") or None,
            endpoint_url=raw.get("endpoint_url") or None,
            role_arns=tuple(raw.get("role_arns") or ()),
            workers=int(raw.get("workers") or DEFAULT_WORKERS),
            inventory=_inventory_setting(raw.get("inventory")),
            inventory_list_pages=_pages_setting(raw.get("inventory_list_pages")),
        )


def _inventory_setting(value: Any) -> str | None:
    """--inventory / sources.s3.inventory: auto, or an s3:// URL with a bucket."""
    if not value:
        return None
    text = str(value)
    if text != "auto" and not (text.startswith("s3://") and text[5:].split("/", 1)[0]):
        raise InputError("--inventory", f"{text!r} is neither auto nor s3://BUCKET/PREFIX/")
    return text


def _pages_setting(value: Any) -> int:
    """--inventory-list-pages / sources.s3.inventory_list_pages: a whole number, 0 or more."""
    if value is None or value == "":
        return 0
    try:
        pages = int(str(value))
    except ValueError:
        pages = -1
    if pages < 0:
        raise InputError("--inventory-list-pages", f"{value!r} is not a whole number of pages (0 or more)")
    return pages


class CallCounter:
    """Counts every API call by "service.Operation" (botocore's before-call event), thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def attach(self, client: Any, prefix: str = "") -> None:
        """Count `client`'s calls; under `prefix` ("inventory:s3.GetObject") when they read
        something other than the scanned buckets, so that the two are never added up."""
        handler = functools.partial(self._count, prefix)
        client.meta.events.register("before-call", handler)

    def _count(self, prefix: str, model: Any, **_: Any) -> None:
        name = f"{prefix}{model.service_model.service_name}.{model.name}"
        with self._lock:
            self._counts[name] += 1

    def drain(self) -> dict[str, int]:
        """The counts since the last drain (each call is reported once)."""
        with self._lock:
            counts = dict(self._counts)
            self._counts.clear()
        return counts


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


# Per service: the suffix of its AWS_ENDPOINT_URL_<...> variable and its key in a `services` section.
_SERVICE_ENDPOINT_NAMES = {"sts": ("STS", "sts"), "s3control": ("S3_CONTROL", "s3_control")}


def service_endpoint(session: boto3.Session, service: str) -> str | None:
    """An endpoint the user configured for this one service, as boto3 reads it: the variable
    AWS_ENDPOINT_URL_<SERVICE>, else the profile's `services` section. The global forms
    (AWS_ENDPOINT_URL, a profile's own `endpoint_url`) are not looked at."""
    core = session._session  # boto3 keeps the botocore session here; it has the config reader
    if core.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    env_name, key = _SERVICE_ENDPOINT_NAMES[service]
    from_env = os.environ.get(f"AWS_ENDPOINT_URL_{env_name}")
    if from_env:
        return from_env
    section = core.get_scoped_config().get("services")
    if not section:
        return None
    services = core.full_config.get("services", {}).get(section) or {}
    url = (services.get(key) or {}).get("endpoint_url")
    return str(url) if url else None


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
        self._others: dict[str, Any | None] = {}
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

    def _client(
        self,
        service: str,
        region: str,
        *,
        endpoint_url: str | None,
        path_style: bool = False,
        count_as: str = "",
    ) -> Any:
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config(path_style=path_style)}
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        client = self.session.client(service, **kwargs)
        self.counter.attach(client, count_as)
        client.meta.events.register(
            f"before-parse.{client.meta.service_model.service_id.hyphenize()}", check_answer
        )
        if service == "s3" and path_style:  # a store that is not AWS
            events = client.meta.events
            botocores_own = getattr(botocore.handlers, "_handle_200_error", None)
            if botocores_own is not None:  # (a private name: a test fails if botocore renames it)
                events.unregister("before-parse.s3.*", botocores_own)
            events.register_first("before-parse.s3.*", refuse_unreadable_answer)
        return client

    def s3(self, region: str | None = None) -> Any:
        """The S3 client for `region` (buckets answer in their own region on AWS)."""
        region = region or self.region
        if self.custom_endpoint:
            region = self.region  # one server, whatever region a bucket reports
        with self._lock:
            client = self._s3.get(region)
            if client is None:
                endpoint = self.settings.endpoint_url
                client = self._client("s3", region, endpoint_url=endpoint, path_style=self.custom_endpoint)
                if not self.custom_endpoint and not is_aws_endpoint(client.meta.endpoint_url):
                    # --endpoint-url, or an endpoint from the environment or the config file:
                    # S3-compatible servers want path style.
                    self.custom_endpoint = True
                    client = self._client("s3", region, endpoint_url=endpoint, path_style=True)
                self._s3[region] = client
            return client

    def inventory_s3(self, region: str | None = None) -> Any:
        """An S3 client for reading S3 Inventory files: its calls are counted apart, as
        "inventory:s3.GetObject", since they read the inventory, not the scanned bucket."""
        self.s3(region)  # settles custom_endpoint first
        region = self.region if self.custom_endpoint else (region or self.region)
        key = f"inventory:{region}"
        with self._lock:
            client = self._s3.get(key)
            if client is None:
                client = self._client(
                    "s3",
                    region,
                    endpoint_url=self.settings.endpoint_url,
                    path_style=self.custom_endpoint,
                    count_as="inventory:",
                )
                self._s3[key] = client
            return client

    def _other(self, service: str) -> Any | None:
        """The STS or S3 Control client, or None where that service does not exist for this S3."""
        with self._lock:
            if service not in self._others:
                endpoint = service_endpoint(self.session, service) if self.custom_endpoint else None
                if self.custom_endpoint and endpoint is None:
                    self._others[service] = None
                else:
                    client = self._client(service, self.region, endpoint_url=endpoint)
                    if service == "s3control" and not is_aws_endpoint(client.meta.endpoint_url):
                        client.meta.events.register("before-sign", strip_account_host_prefix)
                    self._others[service] = client
            return self._others[service]

    def sts(self) -> Any | None:
        return self._other("sts")

    def s3control(self) -> Any | None:
        return self._other("s3control")

    def account_id(self) -> str | None:
        """The account of these credentials (sts GetCallerIdentity, once); None without STS."""
        if self._account_id is None:
            sts = self.sts()
            if sts is None:
                return None
            account = sts.get_caller_identity().get("Account")
            if not account:
                raise UnexpectedAnswer(operation="sts.GetCallerIdentity", detail="an answer without Account")
            self._account_id = str(account)
        return self._account_id

    @property
    def known_account_id(self) -> str | None:
        return self._account_id


NO_STS = (
    "a custom S3 endpoint has no STS unless AWS_ENDPOINT_URL_STS (or an `sts` entry in the profile's "
    "services section) names one"
)
NO_S3_CONTROL = (
    "a custom S3 endpoint has no S3 Control unless AWS_ENDPOINT_URL_S3_CONTROL (or an `s3_control` entry "
    "in the profile's services section) names one"
)


_LOADER: Any = None  # botocore's loader of service models, shared by every session of this process
_LOADER_LOCK = threading.Lock()


def _core_session() -> botocore.session.Session:
    """A botocore session that reads the service models (JSON, ~0.3 s of CPU for S3, STS and S3
    Control) once per process instead of once per session: a Dask worker runs a scan, with its
    own sessions, per task."""
    global _LOADER
    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _LOADER)
    return core


def _session(core: botocore.session.Session, **kwargs: Any) -> boto3.Session:
    session = boto3.Session(botocore_session=core, **kwargs)
    with _LOADER_LOCK:  # boto3 adds its own data folder to the loader once per session: keep one
        paths = _LOADER.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def base_session(settings: S3Settings) -> boto3.Session:
    """The session of the default credentials (or --profile); InputError when none can be found."""
    try:
        session = _session(_core_session(), profile_name=settings.profile, region_name=settings.region)
    except ProfileNotFound as exc:
        raise InputError("--profile", f"AWS profile {settings.profile!r} not found") from exc
    try:
        credentials = session.get_credentials()
    except ProfileNotFound as exc:  # found here: the shared loader no longer reads the config first
        raise InputError("--profile", f"AWS profile {settings.profile!r} not found") from exc
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


def _assumed_session(sts: Any, base: AccountAccess, role_arn: str) -> boto3.Session:
    """A session whose credentials come from sts:AssumeRole and renew themselves before expiry."""

    def fetch() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME).get("Credentials") or {}
        if not all(creds.get(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")):
            raise UnexpectedAnswer(
                operation="sts.AssumeRole", detail="an answer without complete Credentials"
            )
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = _core_session()
    if base.session.profile_name not in (None, "default"):
        core.set_config_variable("profile", base.session.profile_name)  # keep its endpoints and region
    core._credentials = refreshable  # botocore has no public setter for ready refreshable credentials
    return _session(core, region_name=base.region)


def open_accounts(
    settings: S3Settings, counter: CallCounter, on_role_error: Callable[[str, BaseException], None]
) -> list[AccountAccess]:
    """The identities to scan with: each assumed role when --role-arn is given, else the default."""
    default = base_session(settings)
    label = f"profile {settings.profile}" if settings.profile else "default credentials"
    try:
        base = AccountAccess(default, settings, counter, label=label)
    except CALL_ERRORS as exc:  # e.g. an invalid region or endpoint in the configuration
        raise InputError("s3://", run_problem(exc) or str(exc)) from exc
    if not settings.role_arns:
        return [base]
    sts = base.sts()
    if sts is None:
        raise InputError("--role-arn", f"assuming a role needs STS, and {NO_STS}")
    accounts = []
    for role_arn in settings.role_arns:
        try:
            session = _assumed_session(sts, base, role_arn)
        except CALL_ERRORS as exc:
            problem = run_problem(exc)
            if problem:
                raise InputError("s3://", problem) from exc
            on_role_error(role_arn, exc)
            continue
        accounts.append(
            AccountAccess(session, settings, counter, label=role_arn, account_id=_role_account(role_arn))
        )
    return accounts
