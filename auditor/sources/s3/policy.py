"""Is a bucket policy public, and what can anyone do under it? Our own evaluator.

It follows AWS's published meaning of "public" (S3 User Guide, "Blocking public access", section
"The meaning of 'public'"): S3 starts from "public" and calls a policy non-public only when it
grants access to fixed values (no wildcard, no policy variable) of a principal or of one of the
keys that pin the caller or its network (aws:SourceIp with a CIDR no broader than /8 for IPv4 or
/32 for IPv6, aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount,
s3:x-amz-server-side-encryption-aws-kms-key-id, aws:userid (where "AROLEID:*", every session of
one role, counts as fixed), s3:DataAccessPointArn (whose access-point name may be a wildcard when
the account is fixed), s3:DataAccessPointAccount, and the principal's own keys such as
aws:PrincipalOrgID).

The model of the question: a *stranger* is any caller outside those fixed values. For each key
that pins the caller, a stranger's request either lacks the key or carries a value outside the
fixed set; for every other key (aws:SecureTransport, aws:Referer, s3:prefix, ...) the stranger
chooses. Each condition operator is evaluated on those requests as IAM documents it: a missing
key fails a positive operator and satisfies a negated one; `...IfExists` holds when the key is
missing; `ForAllValues:` holds when the key is missing, `ForAnyValue:` does not. So:

* an Allow is *public* when its principal is not fixed ("*", {"AWS": "*"}, any other principal
  type with "*", a wildcard ARN, a federated identity provider, NotPrincipal) and some stranger
  satisfies all its conditions;
* a Deny *shuts strangers out* of what it names when it applies to every caller (or to everyone
  but fixed principals) and every stranger satisfies all its conditions;
* what a Deny names is compared with what an Allow names as sets of strings (see globs.py), so
  `NotResource`/`NotAction` in either are exact, and several Deny statements together count.

Policy variables in `Resource` match like wildcards in an Allow (a stranger may choose the value
they stand for) and match nothing in a Deny (it cannot be relied on to cover a stranger).

A policy AWS would reject but a store kept (`"Effect": "allow"`, `"Principal": ["*"]`,
`{"aws": "*"}`, an unknown operator...) is read the way that exposes the most, with each
deviation listed in `malformed`: the S3 source turns those into a coverage gap on the bucket.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from auditor.limits import SETTINGS_JSON
from auditor.safeparse import load_json
from auditor.sources.s3.globs import (
    LITERAL_QUESTION,
    LITERAL_STAR,
    PatternSet,
    TooComplex,
    exists,
    memberships,
    within,
)

# Keys that pin the caller (or where it calls from): fixed values of these restrict access.
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
        "aws:sourceorgpaths",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    }
)
# The operators IAM defines, by family (lowercase, without IfExists and set qualifiers).
_POSITIVE_OPS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
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
_OTHER_OPS = frozenset(
    {
        "numericequals",
        "numericnotequals",
        "numericlessthan",
        "numericlessthanequals",
        "numericgreaterthan",
        "numericgreaterthanequals",
        "dateequals",
        "datenotequals",
        "datelessthan",
        "datelessthanequals",
        "dategreaterthan",
        "dategreaterthanequals",
        "bool",
        "binaryequals",
        "null",
    }
)
_QUALIFIERS = frozenset({"", "forallvalues", "foranyvalue"})
MIN_IPV4_PREFIX = 8
MIN_IPV6_PREFIX = 32

_ELEMENTS = {
    name.lower(): name
    for name in (
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    )
}
_PRINCIPAL_TYPES = {t.lower(): t for t in ("AWS", "Service", "Federated", "CanonicalUser")}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": LITERAL_STAR, "?": LITERAL_QUESTION, "$": "$"}  # ${*}, ${?}, ${$}: the literal character
# aws:userid of a role's session is "ROLEID:session-name"; AWS lists aws:userid among the fixed keys
# "outside the pattern AROLEID:*", i.e. that one wildcard, after a fixed role id, is still fixed.
# Role ids start with AROA (IAM User Guide, "Unique identifiers"); any other id with ":*" is not.
_ROLE_SESSIONS = re.compile(r"AROA[A-Z0-9]+:\*")
_ACCESS_POINT = re.compile(r"arn:(aws[a-z-]*):s3:([a-z0-9-]+):(\d{12}):accesspoint/(.+)", re.IGNORECASE)
S3_ACTIONS = PatternSet.of(["s3:*"], case_sensitive=False)


@dataclass(frozen=True)
class ConditionTest:
    """One key of one operator: `"ForAnyValue:StringNotEquals": {"aws:PrincipalOrgID": [...]}`."""

    operator: str  # as written
    key_as_written: str
    qualifier: str  # "" | "forallvalues" | "foranyvalue"
    base: str  # lowercase family member, e.g. "stringnotequals"
    if_exists: bool
    values: tuple[Any, ...]

    @property
    def key(self) -> str:
        return self.key_as_written.lower()

    @property
    def negated(self) -> bool:
        return self.base in _NEGATED_OPS

    def describe(self) -> str:
        return f"{self.operator} {self.key_as_written} {list(self.values)}"


@dataclass(frozen=True)
class Statement:
    """One statement as the store would apply it at worst (see the module docstring)."""

    index: int
    sid: str | None
    effect: str  # Allow | Deny
    principals: Mapping[str, tuple[str, ...]]  # type -> values; "*" -> ("*",) for Principal "*"
    not_principal: bool
    actions: PatternSet  # case-insensitive
    resources: PatternSet  # variables widened (Allow) or dropped (Deny)
    conditions: tuple[ConditionTest, ...]
    conditions_readable: bool
    raw_actions: list[str] | dict[str, list[str]]
    raw_resources: list[str] | dict[str, list[str]]
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"Sid {self.sid!r}" if self.sid else f"statement #{self.index}"


@dataclass(frozen=True)
class PublicStatement:
    """An Allow statement that grants something to strangers, with why it counts as public."""

    statement: Statement
    principal: str  # how the principal reads: '"*"', '{"AWS": "*"}', 'NotPrincipal ...'
    unrestricting: tuple[str, ...]  # conditions present that do not restrict the caller
    assumed: str | None = None  # why it counts as public without being shown to be (see _open)

    @property
    def label(self) -> str:
        return self.statement.label

    def lists(self, key: str) -> bool:
        """Can a stranger list `key` under this statement's s3:prefix conditions, if any?

        A listing with prefix p returns every key that starts with p; a positive, plain
        condition on s3:prefix says which p the caller may send (a missing prefix fails it)."""
        tests = [
            c
            for c in self.statement.conditions
            if c.key == "s3:prefix" and c.qualifier == "" and not c.if_exists and c.base in _PREFIX_OPS
        ]
        if not tests:
            return True
        prefixes = (key[:n] for n in range(len(key) + 1))
        return any(all(_prefix_accepted(c, p) for c in tests) for p in prefixes)

    def evidence(self) -> dict[str, Any]:
        st = self.statement
        out: dict[str, Any] = {
            "statement": st.index,
            "sid": st.sid,
            "principal": self.principal,
            "actions": st.raw_actions,
            "resources": st.raw_resources,
            "conditions_not_restricting": list(self.unrestricting),
        }
        if st.notes:
            out["malformed"] = list(st.notes)
        if self.assumed:
            out["assumed_public"] = self.assumed
        return out


_PREFIX_OPS = frozenset({"stringequals", "stringlike", "stringequalsignorecase"})


def _prefix_accepted(test: ConditionTest, prefix: str) -> bool:
    for value in test.values:
        text = str(value)
        if test.base == "stringlike":
            if PatternSet.of([_widen(text)]).matches(prefix):
                return True
        elif test.base == "stringequalsignorecase":
            if text.lower() == prefix.lower():
                return True
        elif text == prefix:
            return True
    return False


@dataclass(frozen=True)
class PolicyEvaluation:
    statements: tuple[Statement, ...]
    public: tuple[PublicStatement, ...]  # public Allow statements, before any Deny
    shutting_denies: tuple[Statement, ...]  # Deny statements that shut every stranger out of what they name
    malformed: tuple[str, ...]  # what AWS would reject, "statement #i: ..." each
    bucket: str | None = None

    @property
    def is_public(self) -> bool:
        """Some public Allow still reaches strangers on this bucket after every Deny."""
        return bool(self.public_statements())

    def public_statements(self) -> list[PublicStatement]:
        return list(self._open)

    @cached_property
    def _open(self) -> tuple[PublicStatement, ...]:
        """The public Allow statements some Deny does not cover. One whose comparison with the
        Deny statements is too complex to finish counts as open, and says so (`assumed`)."""
        found = []
        for p in self.public:
            try:
                if not _covered_by(p.statement, self.shutting_denies, self.bucket):
                    found.append(p)
            except TooComplex as exc:
                found.append(replace(p, assumed=_ASSUMED_OPEN.format(exc=exc)))
        return tuple(found)

    @property
    def undecided(self) -> list[str]:
        """What the evaluator assumed rather than showed, one line per statement."""
        return [f"{p.label}: {p.assumed}" for p in self._open if p.assumed]

    def grants(self, action: str, arn: str, *, key: str | None = None) -> list[PublicStatement]:
        """Public statements that let strangers perform `action` on `arn`, after Deny statements.

        For a listing, `key` is the object whose name is in question (s3:prefix may scope it)."""
        if any(d.actions.matches(action) and d.resources.matches(arn) for d in self.shutting_denies):
            return []
        return [
            p
            for p in self.public
            if p.statement.actions.matches(action)
            and p.statement.resources.matches(arn)
            and (key is None or p.lists(key))
        ]

    def tls_only(self, bucket: str) -> bool | None:
        """A Deny for every caller, on every object, whenever aws:SecureTransport is false.

        None when no such Deny was found but one of them was too complex to compare."""
        objects = PatternSet.of([f"arn:aws:s3:::{bucket}/*"])
        undecided = False
        for st in self.statements:
            if st.effect != "Deny" or st.not_principal or not _everyone(st.principals):
                continue
            if not (
                st.conditions_readable and st.conditions and all(map(_insecure_transport, st.conditions))
            ):
                continue
            if not st.actions.matches("s3:GetObject"):
                continue
            try:
                if within(objects, st.resources):
                    return True
            except TooComplex:
                undecided = True
        return None if undecided else False


_ASSUMED_OPEN = (
    "counted as public without proof: comparing it with the Deny statements is too complex ({exc}), "
    "so whether they close it is not known"
)


class PolicyError(ValueError):
    """The document is not a policy anyone could read (not JSON, not an object)."""


# --- reading ----------------------------------------------------------------------------------


def parse_policy(document: str | Mapping[str, Any]) -> tuple[list[Statement], list[str]]:
    """The statements the store may apply, and every deviation from AWS's grammar."""
    try:
        data = load_json(document, SETTINGS_JSON) if isinstance(document, str) else document
    except ValueError as exc:
        raise PolicyError(f"policy is not JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PolicyError("policy is not a JSON object")
    notes: list[str] = []
    raw = _field(data, "Statement", notes, "policy")
    if raw is None:
        notes.append("policy: no Statement")
        return [], notes
    items = raw if isinstance(raw, list) else [raw]
    statements = []
    for index, item in enumerate(items):
        st_notes: list[str] = []
        statement = _read_statement(index, item, st_notes)
        label = statement.label if statement else f"statement #{index}"
        notes.extend(f"{label}: {n}" for n in st_notes)
        if statement is not None:
            statements.append(statement)
    return statements, notes


def _field(data: Mapping[str, Any], name: str, notes: list[str], where: str) -> Any:
    if name in data:
        return data[name]
    for key, value in data.items():
        if str(key).lower() == name.lower():
            notes.append(f"{key!r} (AWS spells it {name!r})")
            return value
    return None


def _read_statement(index: int, item: Any, notes: list[str]) -> Statement | None:
    if not isinstance(item, Mapping):
        notes.append("not an object: not applied")
        return None
    fields: dict[str, Any] = {}
    for key, value in item.items():
        canonical = _ELEMENTS.get(str(key).lower())
        if canonical is None:
            notes.append(f"unknown element {key!r}")
            continue
        if canonical != key:
            notes.append(f"element {key!r} (AWS spells it {canonical!r})")
        fields[canonical] = value
    sid = str(fields["Sid"]) if fields.get("Sid") not in (None, "") else None
    effect = _effect(fields.get("Effect"), notes)
    if effect is None:
        return None
    if ("Principal" in fields) == ("NotPrincipal" in fields):
        notes.append("needs exactly one of Principal and NotPrincipal: not applied")
        return None
    if ("Action" in fields) == ("NotAction" in fields):
        notes.append("needs exactly one of Action and NotAction: not applied")
        return None
    if ("Resource" in fields) == ("NotResource" in fields):
        notes.append("needs exactly one of Resource and NotResource: not applied")
        return None
    not_principal = "NotPrincipal" in fields
    principals = _principals(fields["NotPrincipal" if not_principal else "Principal"], notes)
    action_negated = "NotAction" in fields
    actions = _strings(fields["NotAction" if action_negated else "Action"], notes, "Action")
    resource_negated = "NotResource" in fields
    resources = _strings(fields["NotResource" if resource_negated else "Resource"], notes, "Resource")
    # Variables: the widest reading for an Allow, the narrowest for a Deny (see the module docstring).
    wide = (effect == "Allow") != resource_negated
    patterns = [p for p in (_widen(r) if wide else _narrow(r) for r in resources) if p is not None]
    conditions, readable = _conditions(fields.get("Condition"), notes)
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        principals=principals,
        not_principal=not_principal,
        actions=PatternSet.of(actions, negated=action_negated, case_sensitive=False),
        resources=PatternSet.of(patterns, negated=resource_negated),
        conditions=tuple(conditions),
        conditions_readable=readable,
        raw_actions={"NotAction": list(actions)} if action_negated else list(actions),
        raw_resources={"NotResource": list(resources)} if resource_negated else list(resources),
        notes=tuple(notes),
    )


def _effect(raw: Any, notes: list[str]) -> str | None:
    if raw in ("Allow", "Deny"):
        return str(raw)
    if isinstance(raw, str) and raw.lower() in ("allow", "deny"):
        notes.append(f"Effect {raw!r} (AWS accepts only 'Allow' or 'Deny'): read as {raw.capitalize()!r}")
        return raw.capitalize()
    notes.append(f"Effect {raw!r} is neither Allow nor Deny: not applied")
    return None


def _principals(value: Any, notes: list[str]) -> dict[str, tuple[str, ...]]:
    """{"AWS": (...), "Service": (...), ...}; the bare "*" reads as {"*": ("*",)}."""
    if value == "*":
        return {"*": ("*",)}
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(value, str):
        notes.append(f"Principal {value!r} is not an object (AWS wants {{'AWS': ...}}): read as AWS")
        return {"AWS": (value,)}
    if isinstance(value, list):
        notes.append('Principal is a list (AWS wants "*" or an object): each item read as a principal')
        for item in value:
            for kind, values in _principals(item, []).items():
                out[kind] = out.get(kind, ()) + values
        return out
    if isinstance(value, Mapping):
        for kind, values in value.items():
            canonical = _PRINCIPAL_TYPES.get(str(kind).lower())
            if canonical is None:
                notes.append(f"unknown principal type {kind!r}")
                canonical = str(kind)
            elif canonical != kind:
                notes.append(f"principal type {kind!r} (AWS spells it {canonical!r})")
            out[canonical] = out.get(canonical, ()) + tuple(_strings(values, notes, "Principal"))
        if not out:
            notes.append("Principal is empty")
        return out
    notes.append(f'Principal {value!r} is neither "*" nor an object')
    return out


def _strings(value: Any, notes: list[str], element: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            notes.append(f"{element} value {item!r} is not a string: read as {str(item)!r}")
            out.append(str(item))
        else:
            notes.append(f"{element} value {item!r} is not a string: ignored")
    return out


def _conditions(raw: Any, notes: list[str]) -> tuple[list[ConditionTest], bool]:
    """The condition tests, and False when the block cannot be read (then it restricts nothing
    in an Allow and cannot be relied on in a Deny)."""
    if raw is None:
        return [], True
    if not isinstance(raw, Mapping):
        notes.append("Condition is not an object: read as restricting nothing")
        return [], False
    tests = []
    readable = True
    for operator, pairs in raw.items():
        qualifier, _, base = str(operator).rpartition(":")
        qualifier, base = qualifier.lower(), base.lower()
        if_exists = base.endswith("ifexists") and base != "null"
        if if_exists:
            base = base[: -len("ifexists")]
        if qualifier not in _QUALIFIERS or base not in _POSITIVE_OPS | _NEGATED_OPS | _OTHER_OPS:
            notes.append(f"unknown condition operator {operator!r}: read as restricting nothing")
            readable = False
            continue
        if not isinstance(pairs, Mapping):
            notes.append(f"condition {operator!r} is not an object: read as restricting nothing")
            readable = False
            continue
        for key, values in pairs.items():
            vals = tuple(values) if isinstance(values, list) else (values,)
            if any(isinstance(v, Mapping | list) or v is None for v in vals):
                notes.append(f"condition {operator} {key}: a value is not a string, number or boolean")
                readable = False
                continue
            tests.append(ConditionTest(str(operator), str(key), qualifier, base, if_exists, vals))
    return tests, readable


def _widen(pattern: str) -> str:
    """A resource pattern with each policy variable read as a wildcard."""
    return _VARIABLE.sub(lambda m: _ESCAPES.get(m.group(1), "*"), pattern)


def _narrow(pattern: str) -> str | None:
    """The pattern when it has no policy variable (escapes aside), else None: it covers nothing sure."""
    if any(m.group(1) not in _ESCAPES for m in _VARIABLE.finditer(pattern)):
        return None
    return _widen(pattern)


# --- evaluating -------------------------------------------------------------------------------


def evaluate_policy(document: str | Mapping[str, Any], bucket: str | None = None) -> PolicyEvaluation:
    """Evaluate a bucket policy; with `bucket`, the bucket-level verdict looks at that bucket only."""
    statements, malformed = parse_policy(document)
    public: list[PublicStatement] = []
    denies: list[Statement] = []
    for st in statements:
        if st.effect == "Allow":
            reach = _principal_reach(st)
            if reach is None or _restriction(st) is not None:
                continue
            unrestricting = tuple(c.describe() for c in st.conditions)
            public.append(PublicStatement(st, reach, unrestricting))
        elif _shuts_out_strangers(st):
            denies.append(st)
    return PolicyEvaluation(tuple(statements), tuple(public), tuple(denies), tuple(malformed), bucket)


def _principal_reach(st: Statement) -> str | None:
    """How an Allow's principal includes callers outside a fixed set, or None when it does not."""
    if st.not_principal:
        return "NotPrincipal (everyone except the listed principals)"
    for kind, values in st.principals.items():
        for value in values:
            if kind == "*":
                return '"*"'
            if value == "*":
                return f'{{"{kind}": "*"}}'
            if kind == "Federated":
                return f'{{"Federated": "{value}"}} (anyone the identity provider signs in)'
            if kind not in _PRINCIPAL_TYPES.values():
                return f'{{"{kind}": "{value}"}} (a principal type AWS does not define)'
            if not _fixed_text(value):
                return f'{{"{kind}": "{value}"}} (a wildcard principal)'
    return None


def _everyone(principals: Mapping[str, tuple[str, ...]]) -> bool:
    """The principal takes in every caller, anonymous ones too ("*" or {"AWS": "*"})."""
    return any(v == "*" for kind in ("*", "AWS") for v in principals.get(kind, ()))


def _fixed_principals(principals: Mapping[str, tuple[str, ...]]) -> bool:
    values = [(k, v) for k, vs in principals.items() for v in vs]
    return bool(values) and all(
        k in ("AWS", "Service", "CanonicalUser") and _fixed_text(v) for k, v in values
    )


def _restriction(st: Statement) -> ConditionTest | None:
    """The first condition no stranger satisfies (conditions are ANDed: one is enough)."""
    if not st.conditions_readable:
        return None
    for test in st.conditions:
        if _no_stranger_satisfies(test):
            return test
    return None


def _shuts_out_strangers(st: Statement) -> bool:
    """A Deny that every stranger meets: applies to all callers, and all its conditions hold."""
    # NotPrincipal: everyone but the listed principals, which must be fixed ones.
    applies = _fixed_principals(st.principals) if st.not_principal else _everyone(st.principals)
    if not applies or not st.conditions_readable:
        return False
    return all(_every_stranger_satisfies(test) for test in st.conditions)


def _no_stranger_satisfies(test: ConditionTest) -> bool:
    """The condition holds only for callers whose key is one of a fixed set of values.

    A stranger's request lacks the key or has a value outside the set. Only a positive operator
    without IfExists fails both, and with ForAllValues a missing key makes it hold."""
    if test.key not in RESTRICTING_KEYS or test.base not in _POSITIVE_OPS:
        return False
    if test.if_exists or test.qualifier == "forallvalues":
        return False  # holds when the key is missing
    return _all_fixed(test)


def _every_stranger_satisfies(test: ConditionTest) -> bool:
    """The condition holds for every stranger: a negated operator over fixed values of a
    restricting key, unless ForAnyValue makes a missing key fail it."""
    if test.key not in RESTRICTING_KEYS or test.base not in _NEGATED_OPS:
        return False
    if test.qualifier == "foranyvalue" and not test.if_exists:
        return False  # a request without the key fails ForAnyValue: that stranger is not denied
    return _all_fixed(test)


def _all_fixed(test: ConditionTest) -> bool:
    return bool(test.values) and all(_fixed_value(test, v) for v in test.values)


def _fixed_value(test: ConditionTest, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    text = str(value)
    if test.key == "aws:sourceip":
        if test.base not in ("ipaddress", "notipaddress"):
            return False
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        minimum = MIN_IPV4_PREFIX if network.version == 4 else MIN_IPV6_PREFIX
        return network.prefixlen >= minimum
    if test.key == "s3:dataaccesspointarn":
        # AWS: the access-point name may be a wildcard as long as the account id is fixed.
        m = _ACCESS_POINT.fullmatch(text)
        if m and all(_fixed_text(part) for part in m.groups()[:3]):
            return True
    if test.key == "aws:userid" and _ROLE_SESSIONS.fullmatch(text):
        return True
    return _fixed_text(text)


def _fixed_text(text: str) -> bool:
    return not ("*" in text or "?" in text or "${" in text)


def _insecure_transport(test: ConditionTest) -> bool:
    return (
        test.base == "bool"
        and test.qualifier == ""
        and test.key == "aws:securetransport"
        and bool(test.values)
        and all(str(v).lower() == "false" for v in test.values)
    )


def _covered_by(allow: Statement, denies: Sequence[Statement], bucket: str | None) -> bool:
    """(Allow's actions x resources) lies inside the union of the Deny statements' products.

    For each kind of action (which Deny statements name it), the Allow's resources on this
    bucket must lie inside the resources of those Deny statements."""
    scope = PatternSet.of([f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]) if bucket else None
    for m in memberships([allow.actions, S3_ACTIONS, *(d.actions for d in denies)]):
        if not (m[0] and m[1]):
            continue
        naming = [d for d, named in zip(denies, m[2:], strict=True) if named]
        if exists([allow.resources, *([scope] if scope else [])], [d.resources for d in naming]):
            return False
    return True
