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

from botocore.exceptions import ClientError

from auditor.models import Exposure, Gap
from auditor.sources.s3 import lifecycle
from auditor.sources.s3.acl import ALL_USERS, AclUnreadable, PublicGrant, public_grants
from auditor.sources.s3.client import NO_S3_CONTROL, NO_STS, AccountAccess
from auditor.sources.s3.errors import CALL_ERRORS, UnexpectedAnswer, call_problem, error_code, run_problem
from auditor.sources.s3.policy import PolicyError, PolicyEvaluation, evaluate_policy

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
    # set | not-set | unavailable (no STS/S3 Control for this endpoint) | denied | unsupported |
    # error | not-owner | owner-unknown
    status: str
    gaps: list[Gap] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.status in ("set", "not-set")


def account_facts(account: AccountAccess) -> AccountFacts:
    """sts GetCallerIdentity (for the account id, unless a role ARN gave it) + s3control GetPublicAccessBlock."""
    where = f"s3:// account ({account.label})"
    gaps: list[Gap] = []
    try:
        account_id = account.account_id()
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "sts.GetCallerIdentity")
        gaps.append(Gap(where, problem.reason, f"{problem.detail}: the account id is unknown"))
        account_id = None
    if account_id is None and not gaps:
        gaps.append(
            Gap(
                where, "unsupported", f"sts.GetCallerIdentity not called: {NO_STS}; the account id is unknown"
            )
        )
    control = account.s3control()
    if control is None:
        gaps.append(
            Gap(
                where,
                "unsupported",
                f"s3control.GetPublicAccessBlock not called: {NO_S3_CONTROL}; "
                "account-level Block Public Access is unknown",
            )
        )
        return AccountFacts(account_id, None, "unavailable", gaps)
    if account_id is None:
        gaps.append(
            Gap(
                where,
                "unknown-account",
                "account-level Block Public Access not read: it needs the account id",
            )
        )
        return AccountFacts(None, None, "error", gaps)
    try:
        answer = control.get_public_access_block(AccountId=account_id)
        conf = answer.get("PublicAccessBlockConfiguration")
        if not isinstance(conf, dict):
            raise UnexpectedAnswer(
                operation="s3control.GetPublicAccessBlock", detail="no PublicAccessBlockConfiguration"
            )
        return AccountFacts(account_id, PublicAccessBlock.from_api(conf), "set", gaps)
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
            return AccountFacts(account_id, NO_BLOCK, "not-set", gaps)
        problem = call_problem(exc, "s3control.GetPublicAccessBlock")
        gaps.append(
            Gap(where, problem.reason, f"{problem.detail}: account-level Block Public Access is unknown")
        )
        status = {"access-denied": "denied", "unsupported": "unsupported"}.get(problem.reason, "error")
        return AccountFacts(account_id, None, status, gaps)


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
        """Whether the settings in force are known: both levels read, or the bucket's alone has all four on."""
        if "public_access_block" in self.unknown or self.bucket_pab is None:
            return False
        return self.account.known or not self.bucket_pab.off()

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
        """Bucket ACL grants, inherited by every object: one exposure per group.

        A bucket ACL never opens an object's content (that takes the object's own ACL or a
        policy): READ lets the grantee list the keys, and WRITE_ACP or FULL_CONTROL let it grant
        itself that. So these expose the names only."""
        if self.acls_disabled or not self.acl_grants or self.neutraliser("IgnorePublicAcls"):
            return []
        exposures = []
        for group, kind in ((ALL_USERS, "public-acl"), ("AuthenticatedUsers", "authenticated-users-acl")):
            grants = [g for g in self.acl_grants if g.group == group and g.permission in _READING_PERMISSIONS]
            if grants:
                exposures.append(
                    Exposure(
                        kind,
                        "bucket ACL grants "
                        + "; ".join(g.describe("bucket") for g in grants)
                        + ": the key names are exposed, not the content",
                        {
                            "acl": "bucket",
                            "bucket": self.name,
                            "grants": [g.to_dict() for g in grants],
                            "access": ["list"],
                        },
                    )
                )
        return exposures

    def policy_exposure(self, key: str, *, noncurrent: bool) -> Exposure | None:
        """What the bucket policy lets strangers do with this object: read it, list its key, or
        both (unless RestrictPublicBuckets). Only what a statement grants is flagged: a store's
        "public" without a statement to show for it is a bucket-level fact, not every object's."""
        if not self.policy_present or self.policy is None or self.neutraliser("RestrictPublicBuckets"):
            return None
        object_action = "s3:GetObjectVersion" if noncurrent else "s3:GetObject"
        list_action = "s3:ListBucketVersions" if noncurrent else "s3:ListBucket"
        read = self.policy.grants(object_action, f"arn:aws:s3:::{self.name}/{key}")
        listing = self.policy.grants(list_action, f"arn:aws:s3:::{self.name}", key=key)
        if not read and not listing:
            return None
        found = {p.statement.index: p for p in [*read, *listing]}
        statements = [found[i] for i in sorted(found)]
        actions = [a for a, granted in ((object_action, read), (list_action, listing)) if granted]
        access = [a for a, granted in (("read", read), ("list", listing)) if granted]
        what = {
            ("read", "list"): "download it and list its key",
            ("read",): "download it",
            ("list",): "list its key, not download it: the name is exposed, not the content",
        }[tuple(access)]
        labels = ", ".join(p.label for p in statements)
        detail = f"bucket policy {labels} lets anyone {what} ({', '.join(actions)})"
        evidence: dict[str, Any] = {
            "bucket": self.name,
            "access": access,
            "actions": actions,
            "statements": [p.evidence() for p in statements],
            "said_by": "evaluator",
            "policy_status_public": self.policy_status_public,
        }
        if self.policy_status_public is False:
            evidence["disagreement"] = f"GetBucketPolicyStatus says the policy is not public; {labels} is"
        return Exposure("public-policy", detail, evidence)

    def policy_verdict(self) -> dict[str, Any]:
        """Is the policy public? Either the store (GetBucketPolicyStatus) or our evaluator saying
        so makes it public; the verdict says which said what, and where they disagree."""
        if not self.policy_present:
            known = "policy" not in self.unknown
            return {"public": False if known else None, "said_by": [], "store": None, "evaluator": None}
        evaluator = self.policy.is_public if self.policy is not None else None
        store = self.policy_status_public
        said_by = [
            name for name, says in (("GetBucketPolicyStatus", store), ("evaluator", evaluator)) if says
        ]
        public = True if said_by else (None if evaluator is None and store is None else False)
        verdict: dict[str, Any] = {
            "public": public,
            "said_by": said_by,
            "store": store,
            "evaluator": evaluator,
        }
        if store is not None and evaluator is not None and store != evaluator:
            open_statements = self.policy.public_statements() if self.policy is not None else []
            verdict["disagreement"] = (
                "GetBucketPolicyStatus says public; the evaluator finds no statement that lets strangers in"
                if store
                else "GetBucketPolicyStatus says not public; the evaluator finds "
                + ", ".join(p.label for p in open_statements)
                + " public"
            )
        return verdict

    def bucket_policy_exposure(self) -> Exposure | None:
        """The bucket's own exposure through its policy, whoever said it is public."""
        verdict = self.policy_verdict()
        if not verdict["public"] or self.neutraliser("RestrictPublicBuckets"):
            return None
        statements = self.policy.public_statements() if self.policy else []
        labels = ", ".join(p.label for p in statements)
        detail = (
            f"bucket policy {labels} lets strangers in"
            if statements
            else "GetBucketPolicyStatus reports the bucket policy as public (no statement found that says how)"
        )
        return Exposure(
            "public-policy",
            detail,
            {"bucket": self.name, **verdict, "statements": [p.evidence() for p in statements]},
        )

    def to_facts(self) -> dict[str, Any]:
        """The bucket artifact's facts (JSON-ready). None means unknown; see `unknown`."""
        pab_effective = self.effective_pab
        policy: dict[str, Any] | None = None
        if "policy" not in self.unknown:
            verdict = self.policy_verdict()
            policy = {
                "present": bool(self.policy_present),
                "public": verdict["public"],
                "public_said_by": verdict["said_by"],
                "store_says_public": verdict["store"],
                "evaluator_says_public": verdict["evaluator"],
                "disagreement": verdict.get("disagreement"),
                "public_statements": [p.evidence() for p in self.policy.public_statements()]
                if self.policy
                else [],
                "restricted_by": self.neutraliser("RestrictPublicBuckets"),
                "tls_only": self.policy.tls_only(self.name) if self.policy else False,
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


# --- gathering --------------------------------------------------------------------------------

# What each call reads, for the gap that says it was not read.
FACT_OF_OPERATION = {
    "s3.GetBucketOwnershipControls": "Object Ownership",
    "s3.GetPublicAccessBlock": "bucket-level Block Public Access",
    "s3.GetBucketPolicy": "the bucket policy",
    "s3.GetBucketPolicyStatus": "S3's own verdict on the policy (the evaluator's stands alone)",
    "s3.GetBucketEncryption": "default encryption",
    "s3.GetBucketVersioning": "versioning (noncurrent versions, if any, are not listed)",
    "s3.GetBucketLifecycleConfiguration": "lifecycle rules",
    "s3.GetObjectLockConfiguration": "Object Lock",
    "s3.GetBucketLogging": "server access logging",
    "s3.GetBucketWebsite": "website hosting",
    "s3.GetBucketAcl": "the bucket ACL",
}


@dataclass
class _Answer:
    status: str  # ok | absent | unknown
    response: dict[str, Any] | None = None


class _Caller:
    """Makes one call and sorts its outcome: an answer, "not configured", or a gap (the fact is
    then unknown and no rule judges it)."""

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
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            if isinstance(exc, ClientError) and error_code(exc) in absent:
                return _Answer("absent")
            problem = call_problem(exc, operation)
            fact = FACT_OF_OPERATION.get(operation, "the fact")
            self.facts.gaps.append(
                Gap(self.facts.location, problem.reason, f"{problem.detail}: {fact} not read")
            )
            return _Answer("unknown")


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
        _policy_status(facts, later["status"])
    return facts


def _head_bucket(account: AccountAccess, facts: BucketFacts) -> str | None:
    """Existence, region and list permission in one call."""
    try:
        response = account.s3().head_bucket(Bucket=facts.name)
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return response.get("BucketRegion") or headers.get("x-amz-bucket-region")
    except ClientError as exc:
        if run_problem(exc):
            raise
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise BucketMissing(facts.name) from exc
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        problem = call_problem(exc, "s3.HeadBucket")
        if problem.reason == "access-denied":
            facts.listable = False
        facts.gaps.append(Gap(facts.location, problem.reason, problem.detail))
        return headers.get("x-amz-bucket-region")


def _ownership(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        rules = answer.response.get("OwnershipControls", {}).get("Rules") or []
        facts.ownership = rules[0].get("ObjectOwnership") if rules else None
    elif answer.status != "absent":
        facts.unknown.add("object_ownership")


def _public_access_block(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.bucket_pab = PublicAccessBlock.from_api(
            answer.response.get("PublicAccessBlockConfiguration", {})
        )
    elif answer.status == "absent":
        facts.bucket_pab = NO_BLOCK
    else:
        facts.unknown.add("public_access_block")


def _policy(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "absent":
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
    # The wildcard comparison may give up (globs.MAX_STATES): what was assumed is in the evidence,
    # and the coverage says the policy was not fully evaluated.
    assumed = list(facts.policy.undecided)
    if facts.policy.tls_only(facts.name) is None:
        assumed.append(
            "whether a Deny refuses plain HTTP on every object: too complex to compare, not judged"
        )
    if assumed:
        facts.gaps.append(
            Gap(facts.location, "policy-too-complex", "s3.GetBucketPolicy: " + "; ".join(assumed))
        )


def _acl(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        try:
            facts.acl_grants = public_grants(answer.response.get("Grants") or [])
            return
        except AclUnreadable as exc:
            facts.gaps.append(
                Gap(facts.location, "unparseable", f"s3.GetBucketAcl: {exc}: the bucket ACL not read")
            )
    facts.unknown.add("acl")


def _policy_status(facts: BucketFacts, answer: _Answer) -> None:
    status = (answer.response or {}).get("PolicyStatus") or {}
    if answer.status == "ok" and "IsPublic" in status:
        facts.policy_status_public = bool(status["IsPublic"])


def _encryption(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        rules = answer.response.get("ServerSideEncryptionConfiguration", {}).get("Rules") or []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm"):
                facts.encryption = {
                    "algorithm": default["SSEAlgorithm"],
                    "kms_key_id": default.get("KMSMasterKeyID"),
                    "bucket_key_enabled": bool(rule.get("BucketKeyEnabled")),
                }
                break
    elif answer.status != "absent":
        facts.unknown.add("default_encryption")


def _versioning(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.versioning = answer.response.get("Status") or "Off"
        facts.mfa_delete = answer.response.get("MFADelete")
    else:
        facts.unknown.add("versioning")


def _lifecycle(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.lifecycle_rules = lifecycle.summarise(answer.response.get("Rules") or [])
    elif answer.status == "absent":
        facts.lifecycle_rules = []
    else:
        facts.unknown.add("lifecycle")


def _object_lock(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        conf = answer.response.get("ObjectLockConfiguration", {})
        retention = (conf.get("Rule") or {}).get("DefaultRetention") or {}
        facts.object_lock = {
            "enabled": conf.get("ObjectLockEnabled") == "Enabled",
            "default_mode": retention.get("Mode"),
            "default_days": retention.get("Days"),
            "default_years": retention.get("Years"),
        }
    elif answer.status == "absent":
        facts.object_lock = {"enabled": False}
    else:
        facts.unknown.add("object_lock")


def _logging(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        enabled = answer.response.get("LoggingEnabled") or {}
        target = enabled.get("TargetBucket")
        facts.logging = {
            "enabled": bool(enabled),
            "target": f"s3://{target}/{enabled.get('TargetPrefix', '')}" if target else None,
        }
    else:
        facts.unknown.add("access_logging")


def _website(facts: BucketFacts, answer: _Answer) -> None:
    if answer.status == "ok" and answer.response is not None:
        facts.website = {
            "enabled": True,
            "index_document": (answer.response.get("IndexDocument") or {}).get("Suffix"),
            "redirect_all_to": (answer.response.get("RedirectAllRequestsTo") or {}).get("HostName"),
        }
    elif answer.status == "absent":
        facts.website = {"enabled": False}
    else:
        facts.unknown.add("website")
