"""ACL grants that open a bucket or object to people outside the account.

S3 counts an ACL as public when it grants anything to the AllUsers group (anyone on the
internet) or the AuthenticatedUsers group (anyone with any AWS account). Grants to the
LogDelivery group or to named accounts are not public.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_GROUP_PREFIX = "http://acs.amazonaws.com/groups/global/"
ALL_USERS = "AllUsers"
AUTHENTICATED_USERS = "AuthenticatedUsers"
_PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)

# What each permission lets the grantee do, for evidence a reader understands.
_MEANING = {
    ("bucket", "READ"): "list the bucket's keys",
    ("bucket", "WRITE"): "write and overwrite objects",
    ("bucket", "READ_ACP"): "read the bucket ACL",
    ("bucket", "WRITE_ACP"): "rewrite the bucket ACL",
    ("bucket", "FULL_CONTROL"): "list, write and rewrite the ACL",
    ("object", "READ"): "download the object",
    ("object", "READ_ACP"): "read the object ACL",
    ("object", "WRITE_ACP"): "rewrite the object ACL",
    ("object", "FULL_CONTROL"): "download the object and rewrite its ACL",
}


@dataclass(frozen=True)
class PublicGrant:
    group: str  # AllUsers | AuthenticatedUsers
    permission: str  # READ | WRITE | READ_ACP | WRITE_ACP | FULL_CONTROL

    def describe(self, level: str) -> str:
        who = "anyone on the internet" if self.group == ALL_USERS else "any AWS account holder"
        what = _MEANING.get((level, self.permission), self.permission)
        return f"{self.group} {self.permission} ({who} may {what})"

    def to_dict(self) -> dict[str, str]:
        return {"grantee": self.group, "permission": self.permission}


PERMISSIONS = frozenset({"READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"})


class AclUnreadable(ValueError):
    """An ACL answer whose grants do not say who gets what (s3rver's stub ACL is one)."""


def public_grants(grants: Iterable[Mapping[str, Any]]) -> list[PublicGrant]:
    """The grants in a GetBucketAcl/GetObjectAcl answer that go to AllUsers or AuthenticatedUsers.

    Raises AclUnreadable when a grant lacks its grantee or permission: such an answer says nothing
    about who may read, and must not pass for "private"."""
    found: list[PublicGrant] = []
    for index, grant in enumerate(grants):
        if (
            not isinstance(grant, Mapping)
            or grant.get("Permission") not in PERMISSIONS
            or not grant.get("Grantee")
        ):
            raise AclUnreadable(
                f"grant #{index} does not name a grantee and a permission: {dict(grant or {})!r}"
            )
        grantee = grant.get("Grantee") or {}
        uri = str(grantee.get("URI") or "")
        group = uri[len(_GROUP_PREFIX) :] if uri.startswith(_GROUP_PREFIX) else ""
        if group in _PUBLIC_GROUPS:
            item = PublicGrant(group, str(grant.get("Permission", "")))
            if item not in found:
                found.append(item)
    return found
