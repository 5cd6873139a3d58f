"""The public-policy evaluator, ACL grants and lifecycle facts, as pure functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.sources.s3 import lifecycle
from auditor.sources.s3.acl import public_grants
from auditor.sources.s3.policy import PolicyError, evaluate_policy

OBJECT = "arn:aws:s3:::practice/clients/a.wav"
BUCKET = "arn:aws:s3:::practice"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(
    principal: Any = "*",
    action: Any = "s3:GetObject",
    resource: Any = "arn:aws:s3:::practice/*",
    **extra: Any,
) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def deny(
    principal: Any = "*", action: Any = "s3:*", resource: Any = "arn:aws:s3:::practice/*", **extra: Any
) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, **extra}


def public(statement: dict[str, Any]) -> bool:
    """Is a one-statement policy public? Its two views must agree: the bucket fact and the object exposure."""
    evaluation = evaluate_policy(doc(statement))
    assert evaluation.is_public == bool(evaluation.grants("s3:GetObject", OBJECT))
    return evaluation.is_public


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, True),
        ({"AWS": "arn:aws:iam::*:root"}, True),  # a wildcard account is anyone
        ({"AWS": "arn:aws:iam::111122223333:root"}, False),
        ({"AWS": "111122223333"}, False),
        ({"Service": "cloudfront.amazonaws.com"}, False),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, False),
    ],
)
def test_principals(principal: Any, expected: bool) -> None:
    assert public(allow(principal)) is expected


@pytest.mark.parametrize(
    ("condition", "restricts"),
    [
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
        ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7/32"]}}, True),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, False),  # everyone
        ({"IpAddress": {"aws:SourceIp": "::/0"}}, False),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}, False),  # half the internet is not a restriction
        ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}}, False),  # one open value opens it
        ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}, True),
        ({"StringLike": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringLike": {"aws:SourceVpce": "vpce-*"}}, False),  # a wildcard is not a fixed value
        ({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, True),
        ({"StringEquals": {"aws:PrincipalOrgID": "*"}}, False),
        ({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}, True),
        ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Therapist"}}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Therapist"}}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"}}, True),
        ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, True),
        ({"StringEquals": {"aws:userid": "AIDAEXAMPLEUSERID"}}, True),
        ({"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*"}}, False),
        ({"StringEquals": {"aws:username": "alice"}}, False),  # any account can have an alice
        ({"StringEquals": {"aws:PrincipalArn": "${aws:username}"}}, False),  # a policy variable
        ({"Bool": {"aws:SecureTransport": "true"}}, False),  # TLS says nothing about who
        ({"StringEquals": {"aws:Referer": "https://clinic.example"}}, False),  # anyone can send a Referer
        ({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),  # holds when absent
        ({"ForAllValues:StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),
        ({"ForAnyValue:StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),  # everyone but one endpoint
        ({"Null": {"aws:SourceVpc": "false"}}, False),  # any VPC of any account
        ({"StringEquals": {"aws:SourceVpce": []}}, False),
        # Conditions are ANDed: one restricting key is enough.
        ({"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
    ],
)
def test_conditions_that_do_and_do_not_restrict_the_caller(
    condition: dict[str, Any], restricts: bool
) -> None:
    assert public(allow(Condition=condition)) is not restricts


def test_public_statement_evidence_names_the_statement_and_the_conditions_that_fail_to_restrict() -> None:
    evaluation = evaluate_policy(
        doc(
            allow({"AWS": "111122223333"}, Sid="Partner"),
            allow(Sid="Website", Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            allow(resource="arn:aws:s3:::practice/public/*"),
        )
    )
    (granted,) = evaluation.grants("s3:GetObject", OBJECT)
    assert granted.label == "Sid 'Website'"
    assert granted.evidence() == {
        "statement": 1,
        "sid": "Website",
        "principal": '"*"',
        "actions": ["s3:GetObject"],
        "resources": ["arn:aws:s3:::practice/*"],
        "conditions_not_restricting": ["IpAddress aws:SourceIp ['0.0.0.0/0']"],
    }
    assert [p.label for p in evaluation.public_statements()] == ["Sid 'Website'", "statement #2"]


def test_resources_and_actions_scope_the_grant() -> None:
    evaluation = evaluate_policy(doc(allow(resource="arn:aws:s3:::practice/public/*")))
    assert evaluation.grants("s3:GetObject", "arn:aws:s3:::practice/public/x.wav")
    assert not evaluation.grants("s3:GetObject", OBJECT)
    assert not evaluation.grants("s3:GetObject", "arn:aws:s3:::practice-other/public/x.wav")
    listing = evaluate_policy(doc(allow(action="s3:ListBucket", resource=BUCKET)))
    assert listing.grants("s3:ListBucket", BUCKET) and not listing.grants("s3:GetObject", OBJECT)
    wildcard = evaluate_policy(doc(allow(action=["S3:Get*"])))  # action names are case-insensitive
    assert wildcard.grants("s3:GetObjectVersion", OBJECT)
    not_action = evaluate_policy(
        doc({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*", "Resource": "*"})
    )
    assert not_action.grants("s3:GetObject", OBJECT) and not not_action.grants("s3:DeleteObject", OBJECT)
    not_resource = evaluate_policy(
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "NotResource": "arn:aws:s3:::practice/private/*",
            }
        )
    )
    assert not_resource.grants("s3:GetObject", OBJECT)
    assert not not_resource.grants("s3:GetObject", "arn:aws:s3:::practice/private/a.wav")


def test_public_write_only_is_public_but_exposes_no_recording() -> None:
    evaluation = evaluate_policy(doc(allow(action="s3:PutObject")))
    assert evaluation.is_public
    assert not evaluation.grants("s3:GetObject", OBJECT)


def test_not_principal_in_an_allow_is_everyone_else() -> None:
    st = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/Bob"},
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    assert public(st)


def test_deny_statements() -> None:
    # Deny everyone outside a fixed network: the public Allow is closed.
    fenced = evaluate_policy(doc(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert not fenced.is_public and not fenced.grants("s3:GetObject", OBJECT)
    # Outside an organisation, with the IfExists form: still closed.
    org = evaluate_policy(
        doc(allow(), deny(Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
    )
    assert not org.is_public
    # "Deny unless 0.0.0.0/0" denies nobody.
    open_fence = evaluate_policy(
        doc(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    )
    assert open_fence.is_public and open_fence.grants("s3:GetObject", OBJECT)
    # A TLS-only Deny closes plain HTTP, not the public.
    tls = evaluate_policy(doc(allow(), deny(Condition={"Bool": {"aws:SecureTransport": "false"}})))
    assert tls.is_public and tls.grants("s3:GetObject", OBJECT)
    # A Deny for one named principal leaves everyone else in.
    named = evaluate_policy(doc(allow(), deny({"AWS": "arn:aws:iam::111122223333:user/Eve"})))
    assert named.is_public
    # Deny everyone but fixed principals (NotPrincipal): closed.
    only = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Therapist"},
        "Action": "s3:*",
        "Resource": "*",
    }
    assert not evaluate_policy(doc(allow(), only)).is_public
    # ...unless the NotPrincipal itself is a wildcard.
    wild = dict(only, NotPrincipal={"AWS": "*"})
    assert evaluate_policy(doc(allow(), wild)).is_public


def test_a_narrower_deny_closes_only_what_it_covers() -> None:
    evaluation = evaluate_policy(doc(allow(action="s3:Get*"), deny(action="s3:GetObject")))
    assert not evaluation.grants("s3:GetObject", OBJECT)
    assert evaluation.grants("s3:GetObjectVersion", OBJECT)  # noncurrent versions stay readable
    assert evaluation.is_public
    partial = evaluate_policy(doc(allow(), deny(resource="arn:aws:s3:::practice/clients/*")))
    assert not partial.grants("s3:GetObject", OBJECT)
    assert partial.grants("s3:GetObject", "arn:aws:s3:::practice/website/index.html")
    assert partial.is_public


@pytest.mark.parametrize(
    ("statement", "tls_only"),
    [
        (deny(Condition={"Bool": {"aws:SecureTransport": "false"}}), True),
        (deny(Condition={"Bool": {"aws:SecureTransport": False}}), True),
        (deny(Condition={"BoolIfExists": {"aws:SecureTransport": "false"}}), True),
        (
            deny(
                resource=["arn:aws:s3:::practice", "arn:aws:s3:::practice/*"],
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
            True,
        ),
        (
            deny(
                resource="arn:aws:s3:::practice/private/*",
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
            False,
        ),
        (deny(action="s3:PutObject", Condition={"Bool": {"aws:SecureTransport": "false"}}), False),
        (
            deny(
                {"AWS": "arn:aws:iam::111122223333:root"},
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
            False,
        ),
        (allow(Condition={"Bool": {"aws:SecureTransport": "true"}}), False),
        (deny(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), False),
    ],
)
def test_tls_only(statement: dict[str, Any], tls_only: bool) -> None:
    assert evaluate_policy(doc(statement)).tls_only("practice") is tls_only


def test_policy_shapes() -> None:
    single = json.dumps(
        {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}
    )
    (only,) = evaluate_policy(single).public_statements()
    assert only.label == "statement #0"
    assert not evaluate_policy(json.dumps({"Version": "2012-10-17"})).is_public
    with pytest.raises(PolicyError):
        evaluate_policy("{not json")
    with pytest.raises(PolicyError):
        evaluate_policy('["a list"]')


def test_public_acl_grants() -> None:
    grants = [
        {"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"},
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ",
        },
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ",
        },
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
            "Permission": "WRITE_ACP",
        },
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
            "Permission": "WRITE",
        },
    ]
    found = public_grants(grants)
    assert [g.to_dict() for g in found] == [
        {"grantee": "AllUsers", "permission": "READ"},
        {"grantee": "AuthenticatedUsers", "permission": "WRITE_ACP"},
    ]
    assert found[0].describe("object") == "AllUsers READ (anyone on the internet may download the object)"


def test_lifecycle_expiry_for_a_key_or_a_prefix() -> None:
    rules = lifecycle.summarise(
        [
            {"ID": "all-90", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 90}},
            {
                "ID": "sessions-30",
                "Status": "Enabled",
                "Filter": {"Prefix": "sessions/"},
                "Expiration": {"Days": 30},
            },
            {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "sessions/"}, "Expiration": {"Days": 1}},
            {
                "ID": "tagged",
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "tmp", "Value": "1"}},
                "Expiration": {"Days": 2},
            },
            {
                "ID": "legacy",
                "Status": "Enabled",
                "Prefix": "old/",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 5},
            },
        ]
    )
    assert lifecycle.expiry(rules, "sessions/a.wav", noncurrent=False) == {"rule": "sessions-30", "days": 30}
    assert lifecycle.expiry(rules, "other/a.wav", noncurrent=False) == {"rule": "all-90", "days": 90}
    assert lifecycle.expiry(rules, "old/a.wav", noncurrent=True) == {"rule": "legacy", "days": 5}
    assert lifecycle.expiry(rules, "sessions/a.wav", noncurrent=True) is None
    # A prefix is covered only by rules whose own prefix contains it.
    assert lifecycle.expiry(rules, "", noncurrent=False) == {"rule": "all-90", "days": 90}
    only_sessions = lifecycle.summarise(
        [{"ID": "s", "Status": "Enabled", "Filter": {"Prefix": "sessions/"}, "Expiration": {"Days": 3}}]
    )
    assert lifecycle.expiry(only_sessions, "", noncurrent=False) is None
    assert lifecycle.expiry(only_sessions, "sessions/2024/", noncurrent=False) == {"rule": "s", "days": 3}
