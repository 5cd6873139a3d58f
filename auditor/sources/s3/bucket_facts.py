"""Bucket-level facts with the fewest calls: at most 12 per bucket, most of them concurrent.

HeadBucket first (does it exist, which region, may we list it); then, at once, ownership
controls, Block Public Access, policy, default encryption, versioning, lifecycle, Object Lock,
access logging and website hosting; then the two calls that depend on those answers: the
bucket ACL (skipped when ACLs are disabled by BucketOwnerEnforced) and GetBucketPolicyStatus
(skipped when there is no policy). A denied call is a coverage gap naming the permission, and
the fact stays unknown: rules never judge an unknown fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from auditor.models import Exposure, Gap
from auditor.sources.s3 import lifecycle
from auditor.sources.s3.acl import ALL_USERS, PublicGrant, public_grants
from auditor.sources.s3.client import (
    UNSUPPORTED_CODES,
    AccountAccess,
    credential_problem,
    error_code,
    error_message,
    is_access_denied,
)
from auditor.sources.s3.permissions import denied
from auditor.sources.s3.policy import PolicyError, PolicyEvaluation, PublicStatement, evaluate_policy

# Permissions that let an outsider read a recording or its name (WRITE alone does not).
_READING_PERMISSIONS = frozenset({"READ", "WRITE_ACP", "FULL_CONTROL"})


@dataclass(frozen=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    @classmethod
    def from_api(cls, conf: Mapping[str, Any]) -> PublicAccessBlock:
        return cls(
            bool(conf.get("BlockPublicAcls")),
            bool(conf.get("IgnorePublicAcls")),
            bool(conf.get("BlockPublicPolicy")),
            bool(conf.get("RestrictPublicBuckets")),
        )

    def union(self, other: PublicAccessBlock) -> PublicAccessBlock:
        """S3 applies the most restrictive combination of the account and bucket settings."""
        return PublicAccessBlock(
            self.block_public_acls or other.block_public_acls,
            self.ignore_public_acls or other.ignore_public_acls,
            self.block_public_policy or other.block_public_policy,
            self.restrict_public_buckets or other.restrict_public_buckets,
        )

    def to_dict(self) -> dict[str, bool]:
        return {
            "BlockPublicAcls": self.block_public_acls,
            "IgnorePublicAcls": self.ignore_public_acls,
            "BlockPublicPolicy": self.block_public_policy,
            "RestrictPublicBuckets": self.restrict_public_buckets,
        }

    def off(self) -> list[str]:
        return [name for name, on in self.to_dict().items() if not on]


NO_BLOCK = PublicAccessBlock()


@dataclass
class AccountFacts:
    """Account-level Block Public Access for the account that owns the bucket."""

    account_id: str | None
    public_access_block: PublicAccessBlock | None  # None when unknown or not applicable
    status: str  # set | not-set | denied | unsupported | error | not-owner
    gaps: list[Gap] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.status in ("set", "not-set", "unsupported")


def account_facts(account: AccountAccess) -> AccountFacts:
    """sts GetCallerIdentity (for the account id, unless a role ARN gave it) + s3control GetPublicAccessBlock."""
    where = f"s3:// account ({account.label})"
    control = account.s3control()
    if control is None:
        return AccountFacts(account.known_account_id, None, "unsupported")
    try:
        account_id = account.account_id()
    except (ClientError, BotoCoreError) as exc:
        if credential_problem(exc):
            raise
        reason = "access-denied" if is_access_denied(exc) else "api-error"
        detail = denied("sts.GetCallerIdentity") if is_access_denied(exc) else error_message(exc)
        return AccountFacts(
            None, None, "error", [Gap(where, reason, f"{detail}: account Block Public Access unknown")]
        )
    try:
        conf = control.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
        return AccountFacts(account_id, PublicAccessBlock.from_api(conf), "set")
    except ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchPublicAccessBlockConfiguration":
            return AccountFacts(account_id, NO_BLOCK, "not-set")
        if code in UNSUPPORTED_CODES:
            return AccountFacts(account_id, None, "unsupported")
        if is_access_denied(exc):
            return AccountFacts(
                account_id,
                None,
                "denied",
                [Gap(where, "access-denied", denied("s3control.GetPublicAccessBlock"))],
            )
        return AccountFacts(account_id, None, "error", [Gap(where, "api-error", error_message(exc))])
    except BotoCoreError as exc:
        return AccountFacts(account_id, None, "error", [Gap(where, "api-error", str(exc))])


class BucketMissing(Exception):
    """HeadBucket says 404: the bucket does not exist."""


@dataclass
class BucketFacts:
    name: str
    account: AccountFacts
    region: str | None = None
    created: datetime | None = None
    listable: bool = True  # HeadBucket (s3:ListBucket) allowed
    bucket_pab: PublicAccessBlock | None = None
    ownership: str | None = None  # ObjectOwnership; None when not set (legacy ObjectWriter)
    acl_grants: list[PublicGrant] | None = None  # None when not read (disabled or unknown)
    policy_present: bool | None = None
    policy: PolicyEvaluation | None = None
    policy_status_public: bool | None = None  # GetBucketPolicyStatus, where the endpoint supports it
    encryption: dict[str, Any] | None = None  # default encryption; None when there is none
    versioning: str | None = None  # Enabled | Suspended | Off
    mfa_delete: str | None = None
    lifecycle_rules: list[dict[str, Any]] | None = None
    object_lock: dict[str, Any] | None = None
    logging: dict[str, Any] | None = None
    website: dict[str, Any] | None = None
    unknown: set[str] = field(default_factory=set)  # facts that could not be read (see gaps)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"s3://{self.name}"

    # -- derived facts ------------------------------------------------------------------------

    @property
    def effective_pab(self) -> PublicAccessBlock:
        """Settings in force; a level we could not read counts as off (never assume protection)."""
        account = self.account.public_access_block or NO_BLOCK
        return account.union(self.bucket_pab or NO_BLOCK)

    @property
    def pab_known(self) -> bool:
        return "public_access_block" not in self.unknown and self.account.known

    @property
    def acls_disabled(self) -> bool:
        return self.ownership == "BucketOwnerEnforced"

    @property
    def object_acls_matter(self) -> bool:
        """Per-object ACL calls are worth making: ACLs are enabled and not ignored by Block Public Access."""
        return not self.acls_disabled and not self.effective_pab.ignore_public_acls

    @property
    def versioned(self) -> bool:
        """Versioning is or was enabled, so noncurrent versions may hold deleted recordings."""
        return self.versioning in ("Enabled", "Suspended")

    def neutraliser(self, setting: str) -> str | None:
        """Which level's Block Public Access setting is in force, e.g. 'IgnorePublicAcls (account)'."""
        levels = []
        if self.account.public_access_block and self.account.public_access_block.to_dict()[setting]:
            levels.append("account")
        if self.bucket_pab and self.bucket_pab.to_dict()[setting]:
            levels.append("bucket")
        return f"{setting} ({' and '.join(levels)})" if levels else None

    def acl_exposures(self) -> list[Exposure]:
        """Bucket ACL grants that reach every object: one exposure per group."""
        if self.acls_disabled or not self.acl_grants or self.neutraliser("IgnorePublicAcls"):
            return []
        exposures = []
        for group, kind in ((ALL_USERS, "public-acl"), ("AuthenticatedUsers", "authenticated-users-acl")):
            grants = [g for g in self.acl_grants if g.group == group and g.permission in _READING_PERMISSIONS]
            if grants:
                exposures.append(
                    Exposure(
                        kind,
                        "bucket ACL grants " + "; ".join(g.describe("bucket") for g in grants),
                        {"acl": "bucket", "bucket": self.name, "grants": [g.to_dict() for g in grants]},
                    )
                )
        return exposures

    def policy_exposure(self, key: str, *, noncurrent: bool) -> Exposure | None:
        """The bucket policy lets anyone read this object (or list its key), unless RestrictPublicBuckets."""
        if not self.policy_present or self.neutraliser("RestrictPublicBuckets"):
            return None
        if self.policy_status_public is False:
            return None  # S3's own evaluation is authoritative where it is available
        object_action = "s3:GetObjectVersion" if noncurrent else "s3:GetObject"
        list_action = "s3:ListBucketVersions" if noncurrent else "s3:ListBucket"
        found: dict[int, PublicStatement] = {}
        actions: list[str] = []
        if self.policy is not None:
            for action, arn in (
                (object_action, f"arn:aws:s3:::{self.name}/{key}"),
                (list_action, f"arn:aws:s3:::{self.name}"),
            ):
                granted = self.policy.grants(action, arn)
                if granted:
                    actions.append(action)
                for p in granted:
                    found.setdefault(p.statement.index, p)
        evidence: dict[str, Any] = {"bucket": self.name, "policy_status_public": self.policy_status_public}
        if found:
            statements = [found[i] for i in sorted(found)]
            what = "download it" if object_action in actions else "list its key"
            detail = f"bucket policy {', '.join(p.label for p in statements)} lets anyone {what} ({', '.join(actions)})"
            evidence.update(actions=actions, statements=[p.evidence() for p in statements])
            return Exposure("public-policy", detail, evidence)
        if self.policy_status_public and (self.policy is None or not self.policy.public_statements()):
            # S3 says public, our evaluator cannot say which statement: report S3's word.
            evidence["source"] = "GetBucketPolicyStatus"
            return Exposure(
                "public-policy", "GetBucketPolicyStatus reports the bucket policy as public", evidence
            )
        return None

    def to_facts(self) -> dict[str, Any]:
        """The bucket artifact's facts (JSON-ready). None means unknown; see `unknown`."""
        pab_effective = self.effective_pab
        policy: dict[str, Any] | None = None
        if "policy" not in self.unknown:
            policy = {
                "present": bool(self.policy_present),
                "public": self._policy_public(),
                "public_source": "GetBucketPolicyStatus"
                if self.policy_status_public is not None
                else "evaluator",
                "public_statements": [p.evidence() for p in self.policy.public_statements()]
                if self.policy
                else [],
                "restricted_by": self.neutraliser("RestrictPublicBuckets"),
                "tls_only": bool(self.policy and self.policy.tls_only(self.name)),
                "malformed": list(self.policy.malformed) if self.policy else [],
            }
        acl: dict[str, Any] | None = None
        if self.acls_disabled:
            acl = {"enabled": False, "public_grants": [], "ignored_by": None}
        elif self.acl_grants is not None:
            acl = {
                "enabled": True,
                "public_grants": [g.to_dict() for g in self.acl_grants],
                "ignored_by": self.neutraliser("IgnorePublicAcls"),
            }
        return {
            "bucket": self.name,
            "account": self.account.account_id,
            "region": self.region,
            "public_access_block": {
                "account": self.account.public_access_block.to_dict()
                if self.account.public_access_block
                else None,
                "account_status": self.account.status,
                "bucket": self.bucket_pab.to_dict() if self.bucket_pab else None,
                "effective": pab_effective.to_dict() if self.pab_known else None,
            },
            "object_ownership": self.ownership,
            "acl": acl,
            "policy": policy,
            "default_encryption": self.encryption,
            "versioning": self.versioning,
            "mfa_delete": self.mfa_delete,
            "lifecycle": self.lifecycle_rules,
            "object_lock": self.object_lock,
            "access_logging": self.logging,
            "website": self.website,
            "unknown": sorted(self.unknown),
        }

    def _policy_public(self) -> bool | None:
        if not self.policy_present:
            return False
        if self.policy_status_public is not None:
            return self.policy_status_public
        return self.policy.is_public if self.policy else None


# --- gathering --------------------------------------------------------------------------------


@dataclass
class _Answer:
    status: str  # ok | absent | denied | unsupported | error
    response: dict[str, Any] | None = None


class _Caller:
    """Makes one call and sorts its outcome: an answer, 'not configured', or a gap."""

    def __init__(self, facts: BucketFacts) -> None:
        self.facts = facts

    def __call__(
        self,
        method: Callable[..., dict[str, Any]],
        operation: str,
        absent: tuple[str, ...] = (),
        **params: Any,
    ) -> _Answer:
        try:
            return _Answer("ok", method(Bucket=self.facts.name, **params))
        except ClientError as exc:
            code = error_code(exc)
            if code in absent:
                return _Answer("absent")
            if code in UNSUPPORTED_CODES:
                return _Answer("unsupported")
            if is_access_denied(exc):
                self.facts.gaps.append(Gap(self.facts.location, "access-denied", denied(operation)))
                return _Answer("denied")
            reason = "vanished" if code == "NoSuchBucket" else "api-error"
            self.facts.gaps.append(Gap(self.facts.location, reason, f"{operation}: {error_message(exc)}"))
            return _Answer("error")
        except BotoCoreError as exc:
            self.facts.gaps.append(Gap(self.facts.location, "api-error", f"{operation}: {exc}"))
            return _Answer("error")


def gather(
    account: AccountAccess, bucket: str, acct: AccountFacts, created: datetime | None = None
) -> BucketFacts:
    """All bucket-level facts for `bucket`; raises BucketMissing for a bucket that does not exist."""
    facts = BucketFacts(bucket, acct, created=created)
    facts.region = _head_bucket(account, facts)
    s3 = account.s3(facts.region)
    call = _Caller(facts)
    with ThreadPoolExecutor(max_workers=9, thread_name_prefix="s3-bucket-facts") as pool:
        first = {
            "ownership": pool.submit(
                call,
                s3.get_bucket_ownership_controls,
                "s3.GetBucketOwnershipControls",
                ("OwnershipControlsNotFoundError",),
            ),
            "pab": pool.submit(
                call,
                s3.get_public_access_block,
                "s3.GetPublicAccessBlock",
                ("NoSuchPublicAccessBlockConfiguration",),
            ),
            "policy": pool.submit(call, s3.get_bucket_policy, "s3.GetBucketPolicy", ("NoSuchBucketPolicy",)),
            "encryption": pool.submit(
                call,
                s3.get_bucket_encryption,
                "s3.GetBucketEncryption",
                ("ServerSideEncryptionConfigurationNotFoundError",),
            ),
            "versioning": pool.submit(call, s3.get_bucket_versioning, "s3.GetBucketVersioning"),
            "lifecycle": pool.submit(
                call,
                s3.get_bucket_lifecycle_configuration,
                "s3.GetBucketLifecycleConfiguration",
                ("NoSuchLifecycleConfiguration",),
            ),
            "object_lock": pool.submit(
                call,
                s3.get_object_lock_configuration,
                "s3.GetObjectLockConfiguration",
                ("ObjectLockConfigurationNotFoundError",),
            ),
            "logging": pool.submit(call, s3.get_bucket_logging, "s3.GetBucketLogging"),
            "website": pool.submit(
                call, s3.get_bucket_website, "s3.GetBucketWebsite", ("NoSuchWebsiteConfiguration",)
            ),
        }
        answers = {name: f.result() for name, f in first.items()}
        _ownership(facts, answers["ownership"])
        _public_access_block(facts, answers["pab"])
        _policy(facts, answers["policy"])
        second = {}
        if not facts.acls_disabled:
            second["acl"] = pool.submit(call, s3.get_bucket_acl, "s3.GetBucketAcl")
        if facts.policy_present:
            second["status"] = pool.submit(call, s3.get_bucket_policy_status, "s3.GetBucketPolicyStatus")
        later = {name: f.result() for name, f in second.items()}
    _encryption(facts, answers["encryption"])
    _versioning(facts, answers["versioning"])
    _lifecycle(facts, answers["lifecycle"])
    _object_lock(facts, answers["object_lock"])
    _logging(facts, answers["logging"])
    _website(facts, answers["website"])
    if "acl" in later:
        _acl(facts, later["acl"])
    if "status" in later:
        answer = later["status"]
        status = (answer.response or {}).get("PolicyStatus") or {}
        facts.policy_status_public = bool(status["IsPublic"]) if "IsPublic" in status else None
    return facts


def _head_bucket(account: AccountAccess, facts: BucketFacts) -> str | None:
    """Existence, region and list permission in one call."""
    try:
        response = account.s3().head_bucket(Bucket=facts.name)
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return response.get("BucketRegion") or headers.get("x-amz-bucket-region")
    except ClientError as exc:
        if credential_problem(exc):
            raise
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise BucketMissing(facts.name) from exc
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if is_access_denied(exc):
            facts.listable = False
            facts.gaps.append(Gap(facts.location, "access-denied", denied("s3.HeadBucket")))
        else:
            facts.gaps.append(Gap(facts.location, "api-error", f"s3.HeadBucket: {error_message(exc)}"))
        return headers.get("x-amz-bucket-region")


def _ownership(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response:
        rules = answer.response.get("OwnershipControls", {}).get("Rules", [])
        facts.ownership = rules[0].get("ObjectOwnership") if rules else None
    elif answer.status not in ("absent", "unsupported"):
        facts.unknown.add("object_ownership")


def _public_access_block(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response:
        facts.bucket_pab = PublicAccessBlock.from_api(
            answer.response.get("PublicAccessBlockConfiguration", {})
        )
    elif answer.status in ("absent", "unsupported"):
        facts.bucket_pab = NO_BLOCK
    else:
        facts.unknown.add("public_access_block")


def _policy(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status in ("absent", "unsupported"):
        facts.policy_present = False
        return
    if answer.status != "ok" or not answer.response:
        facts.unknown.add("policy")
        return
    facts.policy_present = True
    try:
        facts.policy = evaluate_policy(answer.response.get("Policy") or "{}", facts.name)
    except PolicyError as exc:
        facts.unknown.add("policy")
        facts.gaps.append(Gap(facts.location, "policy-unreadable", str(exc)))
        return
    if facts.policy.malformed:
        # AWS would have refused this policy; how this store applies it is not known. It was read
        # the way that exposes the most, and the coverage says the reading is not sure.
        facts.gaps.append(
            Gap(
                facts.location,
                "policy-malformed",
                "s3.GetBucketPolicy: the policy breaks AWS's grammar, so how this store applies it is "
                "not known (read the way that exposes the most): " + "; ".join(facts.policy.malformed),
            )
        )


def _acl(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.acl_grants = public_grants(answer.response.get("Grants", []))
    elif answer.status != "unsupported":
        facts.unknown.add("acl")


def _encryption(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response:
        rules = answer.response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm"):
                facts.encryption = {
                    "algorithm": default["SSEAlgorithm"],
                    "kms_key_id": default.get("KMSMasterKeyID"),
                    "bucket_key_enabled": bool(rule.get("BucketKeyEnabled")),
                }
                break
    elif answer.status not in ("absent", "unsupported"):
        facts.unknown.add("default_encryption")


def _versioning(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.versioning = answer.response.get("Status") or "Off"
        facts.mfa_delete = answer.response.get("MFADelete")
    elif answer.status == "unsupported":
        facts.versioning = "Off"
    else:
        facts.unknown.add("versioning")


def _lifecycle(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response:
        facts.lifecycle_rules = lifecycle.summarise(answer.response.get("Rules", []))
    elif answer.status in ("absent", "unsupported"):
        facts.lifecycle_rules = []
    else:
        facts.unknown.add("lifecycle")


def _object_lock(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response:
        conf = answer.response.get("ObjectLockConfiguration", {})
        retention = (conf.get("Rule") or {}).get("DefaultRetention") or {}
        facts.object_lock = {
            "enabled": conf.get("ObjectLockEnabled") == "Enabled",
            "default_mode": retention.get("Mode"),
            "default_days": retention.get("Days"),
            "default_years": retention.get("Years"),
        }
    elif answer.status in ("absent", "unsupported"):
        facts.object_lock = {"enabled": False}
    else:
        facts.unknown.add("object_lock")


def _logging(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        enabled = answer.response.get("LoggingEnabled") or {}
        facts.logging = {
            "enabled": bool(enabled),
            "target": f"s3://{enabled['TargetBucket']}/{enabled.get('TargetPrefix', '')}"
            if enabled
            else None,
        }
    elif answer.status == "unsupported":
        facts.logging = {"enabled": False, "target": None}
    else:
        facts.unknown.add("access_logging")


def _website(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.website = {
            "enabled": True,
            "index_document": (answer.response.get("IndexDocument") or {}).get("Suffix"),
            "redirect_all_to": (answer.response.get("RedirectAllRequestsTo") or {}).get("HostName"),
        }
    elif answer.status in ("absent", "unsupported"):
        facts.website = {"enabled": False}
    else:
        facts.unknown.add("website")
