"""Is a bucket policy public? Our own evaluator, for S3 endpoints without GetBucketPolicyStatus.

It follows AWS's published meaning of "public" (Block Public Access docs): an Allow statement is
public when its principal is anyone (`"*"`, `{"AWS": "*"}`, a wildcard ARN, or an Allow with
NotPrincipal) unless a condition pins the caller to fixed values of a key that identifies the
caller or its network (aws:SourceIp, aws:SourceVpc(e), aws:PrincipalOrgID, aws:PrincipalAccount,
aws:PrincipalArn, aws:SourceArn, aws:SourceAccount, aws:userid, ...). A value with a wildcard or a
policy variable is not fixed, and neither is a CIDR as broad as 0.0.0.0/0 (we require at least /8
for IPv4 and /32 for IPv6). A Deny that shuts out everyone outside such a fixed set neutralises a
public Allow for what it covers, and so does an unconditional Deny for everyone.

Two things are evaluated here: whether the policy as a whole is public (the bucket fact), and
which public statements let anyone perform one concrete action on one ARN (the object exposure).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Keys that identify the caller (or where it calls from): fixed values of these restrict access.
# aws:username is deliberately absent: any AWS account can create a user of that name.
RESTRICTING_KEYS: frozenset[str] = frozenset(
    {
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    }
)
# Operators that require the key to equal (or fall inside) the listed values.
_POSITIVE_OPS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
# Their negations: in a Deny, they shut out everyone whose key is NOT one of the values.
_NEGATED_OPS = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "arnnotequals",
        "arnnotlike",
        "notipaddress",
    }
)
MIN_IPV4_PREFIX = 8
MIN_IPV6_PREFIX = 32


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised (lists everywhere, Sid kept for evidence)."""

    index: int
    sid: str | None
    effect: str  # Allow | Deny
    principal: Any
    not_principal: Any
    actions: tuple[str, ...] | None  # None when the statement uses NotAction
    not_actions: tuple[str, ...]
    resources: tuple[str, ...] | None  # None when the statement uses NotResource
    not_resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]]

    @property
    def label(self) -> str:
        return f"Sid {self.sid!r}" if self.sid else f"statement #{self.index}"

    def applies_to_action(self, action: str) -> bool:
        if self.actions is not None:
            return _any_glob(self.actions, action, case_sensitive=False)
        return not _any_glob(self.not_actions, action, case_sensitive=False)

    def applies_to_resource(self, arn: str) -> bool:
        if self.resources is not None:
            return _any_glob(self.resources, arn, case_sensitive=True)
        return not _any_glob(self.not_resources, arn, case_sensitive=True)

    def covers_actions_of(self, other: Statement) -> bool:
        """Every action `other` may name is named by this statement too (pattern against pattern)."""
        if other.actions is None:
            return self.actions is not None and _any_glob(self.actions, "*", case_sensitive=False)
        return all(self.applies_to_action(a) for a in other.actions)

    def covers_resources_of(self, other: Statement) -> bool:
        if other.resources is None:
            return self.resources is not None and "*" in self.resources
        return all(self.applies_to_resource(r) for r in other.resources)


@dataclass(frozen=True)
class PublicStatement:
    """An Allow statement that grants something to anyone, with why it counts as public."""

    statement: Statement
    principal: str  # how the principal reads: '"*"', '{"AWS": "*"}', 'NotPrincipal ...'
    unrestricting: tuple[str, ...]  # conditions present that do not restrict the caller

    @property
    def label(self) -> str:
        return self.statement.label

    def evidence(self) -> dict[str, Any]:
        st = self.statement
        return {
            "statement": st.index,
            "sid": st.sid,
            "principal": self.principal,
            "actions": list(st.actions) if st.actions is not None else {"NotAction": list(st.not_actions)},
            "resources": list(st.resources)
            if st.resources is not None
            else {"NotResource": list(st.not_resources)},
            "conditions_not_restricting": list(self.unrestricting),
        }


@dataclass(frozen=True)
class PolicyEvaluation:
    statements: tuple[Statement, ...]
    public: tuple[PublicStatement, ...]  # public Allow statements, before Deny neutralisation
    restricting_denies: tuple[Statement, ...]  # Deny statements that shut out all but a fixed set

    @property
    def is_public(self) -> bool:
        """Some public Allow is not wholly neutralised by a restricting Deny."""
        return any(not self._wholly_denied(p.statement) for p in self.public)

    def public_statements(self) -> list[PublicStatement]:
        return [p for p in self.public if not self._wholly_denied(p.statement)]

    def grants(self, action: str, arn: str) -> list[PublicStatement]:
        """Public statements that let anyone perform `action` on `arn`, after Deny statements."""
        if any(d.applies_to_action(action) and d.applies_to_resource(arn) for d in self.restricting_denies):
            return []
        return [
            p
            for p in self.public
            if p.statement.applies_to_action(action) and p.statement.applies_to_resource(arn)
        ]

    def tls_only(self, bucket: str) -> bool:
        """A Deny for everyone, on every object, whenever aws:SecureTransport is false.

        `bucket/*` is matched literally against the Deny's resource patterns, so a Deny that
        covers only part of the bucket does not count."""
        objects = f"arn:aws:s3:::{bucket}/*"
        for st in self.statements:
            if st.effect != "Deny" or _public_principal(st) is None:
                continue
            if not (st.applies_to_action("s3:GetObject") and st.applies_to_resource(objects)):
                continue
            if _denies_insecure_transport(st.condition):
                return True
        return False

    def _wholly_denied(self, allow: Statement) -> bool:
        return any(
            d.covers_actions_of(allow) and d.covers_resources_of(allow) for d in self.restricting_denies
        )


class PolicyError(ValueError):
    """The document is not a policy we can read."""


def parse_policy(document: str | Mapping[str, Any]) -> list[Statement]:
    try:
        data = json.loads(document) if isinstance(document, str) else document
    except ValueError as exc:
        raise PolicyError(f"policy is not JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PolicyError("policy is not a JSON object")
    raw = data.get("Statement", [])
    items = raw if isinstance(raw, list) else [raw]
    statements = []
    for index, st in enumerate(items):
        if not isinstance(st, Mapping):
            raise PolicyError(f"statement #{index} is not an object")
        condition = st.get("Condition") or {}
        statements.append(
            Statement(
                index=index,
                sid=str(st["Sid"]) if st.get("Sid") not in (None, "") else None,
                effect=str(st.get("Effect", "")),
                principal=st.get("Principal"),
                not_principal=st.get("NotPrincipal"),
                actions=_strings(st["Action"]) if "Action" in st else None,
                not_actions=_strings(st.get("NotAction")),
                resources=None
                if "NotResource" in st and "Resource" not in st
                else _strings(st.get("Resource", "*")),
                not_resources=_strings(st.get("NotResource")),
                condition=condition if isinstance(condition, Mapping) else {},
            )
        )
    return statements


def evaluate_policy(document: str | Mapping[str, Any]) -> PolicyEvaluation:
    statements = parse_policy(document)
    public: list[PublicStatement] = []
    denies: list[Statement] = []
    for st in statements:
        if st.effect == "Allow":
            principal = _public_principal(st)
            if principal is None or _restriction(st.condition) is not None:
                continue
            public.append(PublicStatement(st, principal, tuple(_describe_conditions(st.condition))))
        elif st.effect == "Deny" and _restricting_deny(st):
            denies.append(st)
    return PolicyEvaluation(tuple(statements), tuple(public), tuple(denies))


# --- principals -------------------------------------------------------------------------------


def _public_principal(st: Statement) -> str | None:
    """How the statement reaches anyone, or None when its principals are fixed."""
    if st.not_principal is not None:
        return "NotPrincipal (everyone except the listed principals)" if st.effect == "Allow" else None
    p = st.principal
    if p == "*":
        return '"*"'
    if isinstance(p, Mapping):
        for value in _strings(p.get("AWS")):
            if value == "*":
                return '{"AWS": "*"}'
            if "*" in value or "?" in value:
                return f'{{"AWS": "{value}"}} (a wildcard principal)'
    return None


def _fixed_principals(value: Any) -> bool:
    if value in (None, "*"):
        return False
    if isinstance(value, Mapping):
        values = [v for vs in value.values() for v in _strings(vs)]
        return bool(values) and all("*" not in v and "?" not in v for v in values)
    return False


# --- conditions -------------------------------------------------------------------------------


def _split_operator(op: str) -> tuple[str, str, bool]:
    """('ForAnyValue:StringEqualsIfExists') -> ('foranyvalue', 'stringequals', True)."""
    qualifier, _, base = op.rpartition(":")
    base = base.lower()
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    return qualifier.lower(), base, if_exists


def _fixed_value(key: str, value: Any) -> bool:
    if not isinstance(value, str | int):
        return False
    text = str(value)
    if "*" in text or "?" in text or "${" in text:
        return False
    if key == "aws:sourceip":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        minimum = MIN_IPV4_PREFIX if network.version == 4 else MIN_IPV6_PREFIX
        return network.prefixlen >= minimum
    return True


def _restriction(condition: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The first condition that pins the caller to fixed values, or None when none does.

    Conditions are ANDed, so one restricting condition is enough. IfExists variants and
    ForAllValues do not restrict: they hold when the key is absent, as it is for strangers.
    """
    for op, pairs in condition.items():
        qualifier, base, if_exists = _split_operator(op)
        if (
            if_exists
            or qualifier == "forallvalues"
            or base not in _POSITIVE_OPS
            or not isinstance(pairs, Mapping)
        ):
            continue
        for key, values in pairs.items():
            lowered = str(key).lower()
            vals = _values(values)
            if lowered in RESTRICTING_KEYS and vals and all(_fixed_value(lowered, v) for v in vals):
                return f"{op} {key} {vals}"
    return None


def _restricting_deny(st: Statement) -> bool:
    """A Deny that leaves access only to a fixed set of callers (or to no one at all)."""
    if st.not_principal is not None:
        everyone_else = _fixed_principals(st.not_principal)
    else:
        everyone_else = _public_principal(st) is not None
    if not everyone_else:
        return False
    for op, pairs in st.condition.items():
        qualifier, base, _ = _split_operator(op)
        if base not in _NEGATED_OPS or qualifier == "forallvalues" or not isinstance(pairs, Mapping):
            return False
        for key, values in pairs.items():
            lowered = str(key).lower()
            vals = _values(values)
            if lowered not in RESTRICTING_KEYS or not vals or not all(_fixed_value(lowered, v) for v in vals):
                return False
    return True


def _describe_conditions(condition: Mapping[str, Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for op, pairs in condition.items():
        if isinstance(pairs, Mapping):
            out.extend(f"{op} {key} {_values(values)}" for key, values in pairs.items())
    return out


def _denies_insecure_transport(condition: Mapping[str, Mapping[str, Any]]) -> bool:
    for op, pairs in condition.items():
        _, base, _ = _split_operator(op)
        if base != "bool" or not isinstance(pairs, Mapping):
            continue
        for key, values in pairs.items():
            if str(key).lower() == "aws:securetransport" and any(
                str(v).lower() == "false" for v in _values(values)
            ):
                return True
    return False


# --- matching ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


def _any_glob(patterns: Sequence[str], value: str, *, case_sensitive: bool) -> bool:
    return any(_glob(p, case_sensitive).fullmatch(value) for p in patterns)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
