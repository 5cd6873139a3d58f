"""The public-policy evaluator, ACL grants and lifecycle facts, as pure functions.

The reference for every policy test is AWS's own text:

* [PUBLIC] S3 User Guide, "Blocking public access to your Amazon S3 storage", section "The meaning
  of 'public'" (docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
  #access-control-block-public-access-policy-status): "To be considered non-public, a bucket policy
  must grant access only to fixed values (values that don't contain a wildcard or an AWS Identity
  and Access Management Policy Variable)" of a principal or of aws:SourceIp (no broader than /8
  for IPv4, /32 for IPv6), aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner,
  aws:SourceAccount, s3:x-amz-server-side-encryption-aws-kms-key-id, aws:userid (outside the
  pattern "AROLEID:*"), s3:DataAccessPointArn (a wildcard access-point name is fine "as long as
  the account id is fixed") and s3:DataAccessPointAccount. Its first public example is
  `"Principal": {"Federated": "graph.facebook.com"}`.
* [OPERATORS] IAM User Guide, "Condition operators": "If the key that you specify in a policy
  condition is not present in the request context, the values do not match and the condition is
  false. If the policy condition requires that the key is not matched, such as StringNotLike or
  ArnNotLike, and the right key is not present, the condition is true. This logic applies to all
  condition operators except ...IfExists and Null check."; "...IfExists": if the key is not
  present, the condition is true.
* [SETS] IAM User Guide, "Set operators for multivalued context keys": ForAllValues "also
  returns true if there are no context keys in the request"; ForAnyValue returns false then.
* [NOT] IAM User Guide, "NotAction" / "NotResource": the statement applies to everything except
  the listed patterns.
* [VARIABLES] IAM User Guide, "Policy variables": `${aws:username}` and the like stand for the
  caller's own value; `${*}`, `${?}`, `${$}` are the literal characters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.sources.s3 import lifecycle
from auditor.sources.s3.acl import public_grants
from auditor.sources.s3.globs import PatternSet, TooComplex, memberships, overlaps, within
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


def public(*statements: dict[str, Any]) -> bool:
    """Is the policy public? Its two views must agree: the bucket fact and the object exposure."""
    evaluation = evaluate_policy(doc(*statements), "practice")
    assert evaluation.is_public == bool(evaluation.grants("s3:GetObject", OBJECT))
    return evaluation.is_public


# --- the pattern sets behind Action/Resource comparisons --------------------------------------


def test_pattern_sets_compare_as_sets_of_strings() -> None:
    star = PatternSet.of(["arn:aws:s3:::b/*"])
    one_char = PatternSet.of(["arn:aws:s3:::b/?"])
    assert within(one_char, star) and not within(star, one_char)  # "b/*" is not inside "b/?"
    assert within(PatternSet.of(["arn:aws:s3:::b/a/*"]), star)
    outside_public = PatternSet.of(["arn:aws:s3:::b/public/*"], negated=True)
    assert not within(star, outside_public)  # b/public/x is in one, not the other
    assert overlaps(star, outside_public)
    assert within(PatternSet.of(["arn:aws:s3:::b/private/*"]), outside_public)
    assert not overlaps(PatternSet.of(["arn:aws:s3:::b/public/*"]), outside_public)
    # Both sides negated: everything but X lies inside everything but Y when Y lies inside X.
    assert within(PatternSet.of(["a*"], negated=True), PatternSet.of(["ab*"], negated=True))
    assert not within(PatternSet.of(["ab*"], negated=True), PatternSet.of(["a*"], negated=True))
    # Action names are case-insensitive.
    assert within(
        PatternSet.of(["S3:GetObject"], case_sensitive=False),
        PatternSet.of(["s3:get*"], case_sensitive=False),
    )
    assert memberships([PatternSet.of([]), PatternSet.of([], negated=True)]) == {(False, True)}


def test_a_question_too_tangled_to_answer_says_so() -> None:
    tangled = PatternSet.of([f"*{chr(97 + i)}*{chr(98 + i)}*?*" for i in range(12)])
    with pytest.raises(TooComplex):
        memberships([tangled, PatternSet.of(["*z*y*x*w*"], negated=True)])


# Nine patterns that each other's automata blow up; under "practice/*" they add nothing.
TANGLED = [f"arn:aws:s3:::practice/*{chr(97 + i)}*{chr(98 + i)}*?*" for i in range(9)]


def test_an_allow_too_complex_to_compare_is_public_and_says_it_is_assumed() -> None:
    """The Deny covers the Allow (it names practice/*), but the comparison gives up: counting it
    public is the safe answer for a breach scanner, and the evidence must say it is an assumption."""
    evaluation = evaluate_policy(
        doc(allow(resource=TANGLED), deny(resource=["arn:aws:s3:::practice/*", *TANGLED])), "practice"
    )
    assert evaluation.is_public
    (found,) = evaluation.public_statements()
    assert found.evidence()["assumed_public"].startswith("counted as public without proof")
    assert "more than 5000 states" in found.evidence()["assumed_public"]
    assert evaluation.undecided == [f"statement #0: {found.assumed}"]
    assert evaluation.grants("s3:GetObject", OBJECT) == []  # one key against the Deny: exact
    plain = evaluate_policy(doc(allow()), "practice")  # the other side: nothing assumed
    assert plain.undecided == [] and "assumed_public" not in plain.public_statements()[0].evidence()


def test_a_tls_deny_too_complex_to_compare_leaves_tls_unknown() -> None:
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    tangled = deny(resource=["arn:aws:s3:::practice/*", *TANGLED], Condition=insecure)
    plain = deny(resource="arn:aws:s3:::practice/*", Condition=insecure)
    assert evaluate_policy(doc(tangled), "practice").tls_only("practice") is None
    assert evaluate_policy(doc(plain), "practice").tls_only("practice") is True
    assert evaluate_policy(doc(tangled, plain), "practice").tls_only("practice") is True  # one is enough
    assert evaluate_policy(doc(allow()), "practice").tls_only("practice") is False


# --- principals [PUBLIC] ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, True),
        ({"AWS": "arn:aws:iam::*:root"}, True),  # a wildcard account is anyone
        ({"AWS": "arn:aws:iam::111122223333:role/*"}, True),  # a wildcard is never a fixed value
        ({"AWS": "arn:aws:iam::111122223333:root"}, False),
        ({"AWS": "111122223333"}, False),
        ({"Federated": "graph.facebook.com"}, True),  # AWS's first public example
        ({"Federated": "cognito-identity.amazonaws.com"}, True),
        ({"CanonicalUser": "*"}, True),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, False),
        ({"Service": "*"}, True),
        ({"Service": "cloudfront.amazonaws.com"}, False),
        ({"Service": ["logging.s3.amazonaws.com", "cloudtrail.amazonaws.com"]}, False),
        ({"AWS": "arn:aws:iam::111122223333:root", "Service": "*"}, True),  # one open value opens it
    ],
)
def test_principals(principal: Any, expected: bool) -> None:
    assert public(allow(principal)) is expected


def test_not_principal_in_an_allow_is_everyone_else() -> None:
    st = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/Bob"},
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    assert public(st)


# --- conditions on the keys that pin the caller [PUBLIC] [OPERATORS] ---------------------------


@pytest.mark.parametrize(
    ("condition", "restricts"),
    [
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
        ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7/32"]}}, True),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, False),  # everyone
        ({"IpAddress": {"aws:SourceIp": "::/0"}}, False),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}, False),  # AWS's own example of a broad range
        ({"IpAddress": {"aws:SourceIp": "16.0.0.0/8"}}, True),  # /8: the broadest fixed IPv4 range
        ({"IpAddress": {"aws:SourceIp": "16.0.0.0/7"}}, False),  # broader than /8: public
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, True),  # /32: the broadest fixed IPv6 range
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/31"}}, False),
        ({"IpAddress": {"aws:SourceIp": "not-an-address"}}, False),
        ({"StringEquals": {"aws:SourceIp": "203.0.113.7"}}, False),  # not an IP operator: not a CIDR set
        ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}}, False),  # one open value opens it
        ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}, True),
        ({"StringLike": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringLike": {"aws:SourceVpc": "vpc-*"}}, False),  # AWS's third public example
        ({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, True),
        ({"StringEquals": {"aws:PrincipalOrgID": "*"}}, False),
        ({"StringLike": {"aws:PrincipalOrgID": "o-*"}}, False),
        ({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}, True),
        ({"StringEquals": {"aws:PrincipalAccount": 111122223333}}, True),  # a number is a fixed value
        ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Therapist"}}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Therapist"}}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/*"}}, False),
        ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, True),
        ({"StringEquals": {"aws:SourceOwner": "111122223333"}}, True),
        (
            {
                "StringEquals": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/k"
                }
            },
            True,
        ),
        ({"StringEquals": {"aws:userid": "AIDAEXAMPLEUSERID"}}, True),
        # "aws:userid, outside the pattern AROLEID:*": every session of one role is a fixed value.
        ({"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*"}}, True),
        ({"StringLike": {"aws:userid": ["AROAEXAMPLEROLEID:*", "111122223333"]}}, True),
        ({"StringLike": {"aws:userid": "AROA*:*"}}, False),  # any role
        ({"StringLike": {"aws:userid": "*:*"}}, False),
        ({"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*:*"}}, False),  # not the pattern
        ({"StringLike": {"aws:userid": "AIDAEXAMPLEUSERID:*"}}, False),  # not a role id
        ({"StringLike": {"aws:userid": "111122223333:*"}}, False),  # any federated user: not AWS's pattern
        ({"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:app-*"}}, False),  # narrower, but not the pattern
        ({"StringEquals": {"s3:DataAccessPointAccount": "111122223333"}}, True),
        ({"StringEquals": {"aws:username": "alice"}}, False),  # any account can have an alice
        ({"StringEquals": {"aws:PrincipalArn": "${aws:username}"}}, False),  # a policy variable
        ({"Bool": {"aws:SecureTransport": "true"}}, False),  # TLS says nothing about who
        ({"StringEquals": {"aws:Referer": "https://clinic.example"}}, False),  # anyone can send a Referer
        ({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),  # everyone but one endpoint
        ({"Null": {"aws:SourceVpc": "false"}}, False),  # any VPC of any account
        ({"StringEquals": {"aws:SourceVpce": []}}, False),
        # Conditions are ANDed: one restricting key is enough.
        ({"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
        # Condition keys are case-insensitive (policyuniverse's suite writes them so).
        ({"StringEquals": {"AWS:SourceVPC": "vpc-111111"}}, True),
    ],
)
def test_conditions_that_do_and_do_not_restrict_the_caller(
    condition: dict[str, Any], restricts: bool
) -> None:
    assert public(allow(Condition=condition)) is not restricts


@pytest.mark.parametrize(
    ("value", "restricts"),
    [
        ("arn:aws:s3:us-west-2:123456789012:accesspoint/*", True),  # AWS's example: account fixed
        ("arn:aws:s3:us-west-2:123456789012:accesspoint/clinic-*", True),
        ("arn:aws:s3:us-west-2:123456789012:accesspoint/clinic", True),
        ("arn:aws:s3:us-west-2:*:accesspoint/*", False),  # the account is a wildcard
        ("arn:aws:s3:us-west-2:1234567890??:accesspoint/clinic", False),
        ("arn:aws:s3:*:123456789012:accesspoint/*", False),  # only the name may be a wildcard
        ("arn:aws:s3:us-west-2:123456789012:*", False),
        ("arn:aws:s3:us-west-2:${aws:PrincipalAccount}:accesspoint/*", False),
    ],
)
def test_data_access_point_arn_may_wildcard_only_the_name(value: str, restricts: bool) -> None:
    condition = {"StringLike": {"s3:DataAccessPointArn": value}}
    assert public(allow(Condition=condition)) is not restricts


# --- operators on a key the request lacks [OPERATORS] [SETS] -----------------------------------
# A stranger's request lacks aws:PrincipalOrgID (an anonymous caller) or carries another
# organisation's id. In an Allow, the condition restricts only when BOTH kinds fail it; in a
# Deny, it shuts strangers out only when BOTH kinds meet it.

ORG = {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}


@pytest.mark.parametrize(
    ("operator", "allow_restricts", "deny_shuts_out"),
    [
        ("StringEquals", True, False),  # absent: false; other org: false
        ("StringNotEquals", False, True),  # absent: true (negated); other org: true
        ("StringEqualsIfExists", False, False),  # absent: true
        ("StringNotEqualsIfExists", False, True),
        ("ForAnyValue:StringEquals", True, False),  # absent: false
        ("ForAnyValue:StringNotEquals", False, False),  # absent: false, so anonymous callers are not denied
        ("ForAllValues:StringEquals", False, False),  # absent: true
        ("ForAllValues:StringNotEquals", False, True),  # absent: true; other org: true
        ("ForAnyValue:StringNotEqualsIfExists", False, True),  # IfExists: absent is true
        ("ForAllValues:StringEqualsIfExists", False, False),
        ("StringLike", True, False),
        ("StringNotLike", False, True),
    ],
)
def test_each_operator_on_an_absent_key(operator: str, allow_restricts: bool, deny_shuts_out: bool) -> None:
    assert public(allow(Condition={operator: ORG})) is not allow_restricts
    assert public(allow(), deny(Condition={operator: ORG})) is not deny_shuts_out


def test_null_checks_neither_restrict_nor_shut_out() -> None:
    for value in ("true", "false"):
        condition = {"Null": {"aws:PrincipalOrgID": value}}
        assert public(allow(Condition=condition))
        assert public(allow(), deny(Condition=condition))


# --- Deny statements ---------------------------------------------------------------------------


def test_a_bucket_kept_to_one_role_by_aws_userid_is_not_public() -> None:
    """AWS Knowledge Center, "How do I use wildcards with a Principal element and explicit deny in
    an Amazon S3 bucket policy?": Principal "*" in both statements, kept to one role's sessions
    (and the account root) by aws:userid, the pattern "AROLEID:*" that [PUBLIC] counts as fixed."""
    userids = ["AROAID2GEXAMPLEROLEID:*", "444455556666"]
    role_only = allow(Condition={"StringLike": {"aws:userid": userids}})
    others_denied = deny(Condition={"StringNotLike": {"aws:userid": userids}})
    assert not public(role_only, others_denied)
    assert not public(allow(), others_denied)  # the Deny alone shuts strangers out
    any_role = deny(Condition={"StringNotLike": {"aws:userid": ["AROA*:*"]}})
    assert public(allow(), any_role)  # a Deny for everyone but any role of any account


def test_deny_statements() -> None:
    # Deny everyone outside a fixed network: the public Allow is closed.
    assert not public(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    # "Deny unless 0.0.0.0/0" denies nobody.
    assert public(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    # A wildcard in a negated Deny lets in every stranger it matches.
    assert public(allow(), deny(Condition={"StringNotLike": {"aws:SourceVpce": "vpce-*"}}))
    # A TLS-only Deny closes plain HTTP, not the public.
    assert public(allow(), deny(Condition={"Bool": {"aws:SecureTransport": "false"}}))
    # ANDed with a key the stranger chooses: a stranger escapes by choosing.
    assert public(
        allow(),
        deny(
            Condition={
                "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"},
                "Bool": {"aws:SecureTransport": "false"},
            }
        ),
    )
    # ANDed over two pinning keys: no stranger matches either set, so every stranger is denied.
    assert not public(
        allow(),
        deny(
            Condition={
                "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d", "aws:PrincipalOrgID": "o-a1b2c3d4e5"}
            }
        ),
    )
    # A Deny for one named principal leaves everyone else in.
    assert public(allow(), deny({"AWS": "arn:aws:iam::111122223333:user/Eve"}))
    # A Deny for every CanonicalUser does not reach anonymous callers.
    assert public(allow(), deny({"CanonicalUser": "*"}))
    # Deny everyone but fixed principals (NotPrincipal): closed.
    only = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Therapist"},
        "Action": "s3:*",
        "Resource": "*",
    }
    assert not public(allow(), only)
    # ...unless the NotPrincipal itself is a wildcard or a federated provider.
    assert public(allow(), dict(only, NotPrincipal={"AWS": "*"}))
    assert public(allow(), dict(only, NotPrincipal={"Federated": "graph.facebook.com"}))


def test_a_narrower_deny_closes_only_what_it_covers() -> None:
    evaluation = evaluate_policy(doc(allow(action="s3:Get*"), deny(action="s3:GetObject")), "practice")
    assert not evaluation.grants("s3:GetObject", OBJECT)
    assert evaluation.grants("s3:GetObjectVersion", OBJECT)  # noncurrent versions stay readable
    assert evaluation.is_public
    partial = evaluate_policy(doc(allow(), deny(resource="arn:aws:s3:::practice/clients/*")), "practice")
    assert not partial.grants("s3:GetObject", OBJECT)
    assert partial.grants("s3:GetObject", "arn:aws:s3:::practice/website/index.html")
    assert partial.is_public
    # "?" is one character: a Deny on practice/? does not cover practice/*.
    assert public(allow(), deny(resource="arn:aws:s3:::practice/?"))
    assert not public(allow(), deny(resource="arn:aws:s3:::practice*"))


def test_deny_with_not_resource_is_compared_as_a_set() -> None:
    """[NOT] Allow B/* plus Deny NotResource B/public/*: B/public/* stays readable by anyone."""
    not_public = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "NotResource": "arn:aws:s3:::practice/public/*",
    }
    evaluation = evaluate_policy(doc(allow(), not_public), "practice")
    assert evaluation.is_public
    assert evaluation.grants("s3:GetObject", "arn:aws:s3:::practice/public/flyer.pdf")
    assert not evaluation.grants("s3:GetObject", OBJECT)
    # The other side of the boundary: the Allow lies wholly outside B/public/*, so the Deny covers it.
    assert not public(allow(resource="arn:aws:s3:::practice/clients/*"), not_public)
    # Two Deny statements that together cover the Allow close it; either alone does not.
    clients = deny(resource="arn:aws:s3:::practice/public/*")
    assert not public(allow(), not_public, clients)
    assert public(allow(), clients)


def test_deny_with_not_action_is_compared_as_a_set() -> None:
    """[NOT] Allow s3:Get* plus Deny NotAction s3:GetObject: s3:GetObject stays open to anyone."""
    not_get = {"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}
    evaluation = evaluate_policy(doc(allow(action="s3:Get*"), not_get), "practice")
    assert evaluation.is_public
    assert evaluation.grants("s3:GetObject", OBJECT)
    assert not evaluation.grants("s3:GetObjectVersion", OBJECT)
    assert not public(allow(action=["s3:GetObjectVersion", "s3:GetObjectAcl"]), not_get)
    # An Allow with NotAction (everything but deletes) is covered only by a Deny on everything.
    everything_but_delete = {
        "Effect": "Allow",
        "Principal": "*",
        "NotAction": "s3:Delete*",
        "Resource": "arn:aws:s3:::practice/*",
    }
    assert evaluate_policy(doc(everything_but_delete, deny(action="s3:Get*")), "practice").is_public
    assert not public(everything_but_delete, deny(action="*"))
    # Actions in different Deny statements add up, as long as each covers the resources.
    assert not public(allow(action="s3:Get*"), not_get, deny(action="s3:GetObject"))


def test_only_this_bucket_counts_for_the_bucket_fact() -> None:
    assert not evaluate_policy(doc(allow(resource="arn:aws:s3:::other/*")), "practice").is_public
    assert evaluate_policy(doc(allow(resource="arn:aws:s3:::*")), "practice").is_public
    # A non-S3 action in a bucket policy opens nothing in S3.
    assert not evaluate_policy(doc(allow(action="sqs:SendMessage", resource="*")), "practice").is_public


# --- policy variables in Resource [VARIABLES] --------------------------------------------------


def test_policy_variables_in_resources() -> None:
    home = allow(resource="arn:aws:s3:::practice/home/${aws:username}/*")
    evaluation = evaluate_policy(doc(home), "practice")
    # A stranger chooses what the variable stands for (their own user name): a wildcard.
    assert evaluation.is_public
    assert evaluation.grants("s3:GetObject", "arn:aws:s3:::practice/home/alice/s.wav")
    assert not evaluation.grants("s3:GetObject", OBJECT)
    # In a Deny the variable matches nothing sure: it does not close the bucket...
    assert public(allow(), deny(resource="arn:aws:s3:::practice/${aws:username}/*"))
    assert public(allow(), deny(resource="arn:aws:s3:::practice/${aws:username}*"))
    # ...but a Deny without one does (the boundary).
    assert not public(allow(), deny(resource="arn:aws:s3:::practice/*"))
    # ${*} is a literal asterisk, not a wildcard.
    literal = evaluate_policy(doc(allow(resource="arn:aws:s3:::practice/${*}")), "practice")
    assert literal.grants("s3:GetObject", "arn:aws:s3:::practice/*")
    assert not literal.grants("s3:GetObject", OBJECT)


# --- listing, scoped by s3:prefix --------------------------------------------------------------


def test_list_grants_follow_s3_prefix_conditions() -> None:
    listing = allow(
        action="s3:ListBucket", resource=BUCKET, Condition={"StringLike": {"s3:prefix": "public/*"}}
    )
    evaluation = evaluate_policy(doc(listing), "practice")
    assert evaluation.grants("s3:ListBucket", BUCKET, key="public/flyer.pdf")
    assert not evaluation.grants("s3:ListBucket", BUCKET, key="clients/a.wav")
    equals = allow(
        action="s3:ListBucket", resource=BUCKET, Condition={"StringEquals": {"s3:prefix": ["", "x/"]}}
    )
    assert evaluate_policy(doc(equals), "practice").grants("s3:ListBucket", BUCKET, key="clients/a.wav")
    # IfExists: a listing without a prefix passes, so every key can be listed.
    open_listing = allow(
        action="s3:ListBucket", resource=BUCKET, Condition={"StringLikeIfExists": {"s3:prefix": "public/*"}}
    )
    assert evaluate_policy(doc(open_listing), "practice").grants("s3:ListBucket", BUCKET, key="clients/a.wav")


# --- malformed but storable policies -----------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "note"),
    [
        (allow(Effect="allow"), "Effect 'allow'"),
        (allow(["*"]), "Principal is a list"),
        (allow({"aws": "*"}), "principal type 'aws'"),
        (allow("arn:aws:iam::*:root"), "is not an object"),
        (
            {
                "effect": "Allow",
                "principal": "*",
                "action": "s3:GetObject",
                "resource": "arn:aws:s3:::practice/*",
            },
            "element 'effect'",
        ),
        (allow(Condition={"StringEqualz": {"aws:SourceVpce": "vpce-1"}}), "unknown condition operator"),
        (allow(Condition={"StringEquals": ["aws:SourceVpce", "vpce-1"]}), "is not an object"),
        (allow(Condition="aws:SourceVpce = vpce-1"), "Condition is not an object"),
        (
            allow(Condition={"StringEquals": {"aws:SourceVpce": {"nested": "x"}}}),
            "not a string, number or boolean",
        ),
    ],
)
def test_malformed_allow_is_read_the_way_that_exposes_most(statement: dict[str, Any], note: str) -> None:
    evaluation = evaluate_policy(doc(statement), "practice")
    assert evaluation.is_public
    assert any(note in m for m in evaluation.malformed), evaluation.malformed
    (granted,) = evaluation.grants("s3:GetObject", OBJECT)
    assert any(note in m for m in granted.evidence()["malformed"])


@pytest.mark.parametrize(
    ("statement", "note"),
    [
        (deny(Effect="deny"), None),  # read as the Deny it plainly is
        (deny(Condition={"StringNotEqualz": {"aws:SourceVpce": "vpce-1"}}), "unknown condition operator"),
        (deny(["*"]), None),
    ],
)
def test_malformed_deny(statement: dict[str, Any], note: str | None) -> None:
    evaluation = evaluate_policy(doc(allow(), statement), "practice")
    assert evaluation.malformed
    if note is None:
        assert not evaluation.is_public
    else:  # a Deny we cannot read closes nothing
        assert evaluation.is_public and any(note in m for m in evaluation.malformed)


@pytest.mark.parametrize(
    ("statement", "note"),
    [
        (allow(Effect="Permit"), "neither Allow nor Deny"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "Principal and NotPrincipal"),
        ({"Effect": "Allow", "Principal": "*", "Resource": "*"}, "Action and NotAction"),
        ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}, "Resource and NotResource"),
        ("not a statement", "not an object"),
    ],
)
def test_statements_no_one_can_apply_are_listed_as_malformed(statement: Any, note: str) -> None:
    evaluation = evaluate_policy(json.dumps({"Statement": [statement]}), "practice")
    assert not evaluation.public
    assert any(note in m for m in evaluation.malformed)


def test_a_well_formed_policy_has_no_malformed_notes() -> None:
    assert (
        evaluate_policy(
            doc(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
        ).malformed
        == ()
    )


# --- evidence, scoping, TLS ---------------------------------------------------------------------


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
    """AWS's second public example is an anonymous s3:PutObject."""
    evaluation = evaluate_policy(doc(allow(action="s3:PutObject")))
    assert evaluation.is_public
    assert not evaluation.grants("s3:GetObject", OBJECT)


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
        (deny(resource="*", Condition={"Bool": {"aws:SecureTransport": "false"}}), True),
        (
            deny(
                resource="arn:aws:s3:::practice/private/*",
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
            False,
        ),
        (
            deny(resource="arn:aws:s3:::practice/?", Condition={"Bool": {"aws:SecureTransport": "false"}}),
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
        (  # only plain HTTP from one endpoint is refused
            deny(
                Condition={
                    "Bool": {"aws:SecureTransport": "false"},
                    "StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"},
                }
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
    empty = evaluate_policy(json.dumps({"Version": "2012-10-17"}))
    assert not empty.is_public and empty.malformed == ("policy: no Statement",)
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
