"""Lifecycle rules as facts: does a rule expire objects under a key or prefix, and after how long?

Retention checks want to know whether deletion is automated. A rule with a tag or size filter
applies only to some objects, so it is reported as conditional rather than counted as cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _rule_prefix(rule: Mapping[str, Any]) -> str:
    filt = rule.get("Filter")
    if isinstance(filt, Mapping):
        if "Prefix" in filt:
            return str(filt.get("Prefix") or "")
        and_ = filt.get("And")
        if isinstance(and_, Mapping):
            return str(and_.get("Prefix") or "")
        return ""
    return str(rule.get("Prefix") or "")  # the legacy top-level Prefix


def _conditional(rule: Mapping[str, Any]) -> bool:
    filt = rule.get("Filter")
    if not isinstance(filt, Mapping):
        return False
    if "Tag" in filt or "ObjectSizeGreaterThan" in filt or "ObjectSizeLessThan" in filt:
        return True
    and_ = filt.get("And")
    return isinstance(and_, Mapping) and any(k != "Prefix" for k in and_)


def summarise(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        expiration = rule.get("Expiration") or {}
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        out.append(
            {
                "id": rule.get("ID"),
                "enabled": rule.get("Status") == "Enabled",
                "prefix": _rule_prefix(rule),
                "conditional": _conditional(rule),
                "expire_days": expiration.get("Days"),
                "expire_date": str(expiration["Date"]) if expiration.get("Date") else None,
                "noncurrent_expire_days": noncurrent.get("NoncurrentDays"),
                "expired_delete_markers": bool(expiration.get("ExpiredObjectDeleteMarker")),
            }
        )
    return out


def expiry(
    summary: Sequence[Mapping[str, Any]], key_or_prefix: str, *, noncurrent: bool
) -> dict[str, Any] | None:
    """The quickest unconditional enabled rule that expires everything under `key_or_prefix`.

    For a prefix this means the rule's own prefix is a prefix of it (the rule covers all of it).
    Returns {"rule", "days"} or {"rule", "date"}, or None when nothing expires it.
    """
    field = "noncurrent_expire_days" if noncurrent else "expire_days"
    by_days: dict[str, Any] | None = None
    by_date: dict[str, Any] | None = None
    for rule in summary:
        if not rule["enabled"] or rule["conditional"] or not key_or_prefix.startswith(rule["prefix"]):
            continue
        days = rule.get(field)
        if days is not None and (by_days is None or days < by_days["days"]):
            by_days = {"rule": rule["id"], "days": days}
        if not noncurrent and rule.get("expire_date") and by_date is None:
            by_date = {"rule": rule["id"], "date": rule["expire_date"]}
    return by_days or by_date
