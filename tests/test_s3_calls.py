"""Which calls an S3 scan makes: all within the documented read-only policy, and within budget."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import boto3.session
import pytest

from auditor.sources.s3.permissions import OPERATION_ACTIONS, SERVICE_SIDE_ACTIONS, required_action
from tests.conftest import REPO, scan_json
from tests.conftest_s3 import S3World, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

WRITE_VERBS = re.compile(
    r":(Put|Delete|Create|Update|Restore|Abort|Replicate|Bypass|Tag|Untag)", re.IGNORECASE
)


def documented_policies() -> list[dict[str, Any]]:
    text = (REPO / "docs" / "s3.md").read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def documented_actions() -> set[str]:
    actions: set[str] = set()
    for document in documented_policies():
        for st in document["Statement"]:
            assert st["Effect"] == "Allow"
            actions |= {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])
    return actions


class CallRecorder:
    """Every API call of every boto3 client created while it is installed, with its parameters (so
    a call on an object version maps to the *Version* action), seen through botocore's own
    before-parameter-build event: independent of the scanner's counter, so nothing can slip past."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []  # (service.Operation, IAM action needed)
        original = boto3.session.Session.client

        def client(session: Any, *args: Any, **kwargs: Any) -> Any:
            made = original(session, *args, **kwargs)
            made.meta.events.register("before-parameter-build", self._record)
            return made

        monkeypatch.setattr(boto3.session.Session, "client", client)

    def _record(self, model: Any, params: Any, **_: Any) -> None:
        operation = f"{model.service_model.service_name}.{model.name}"
        self.calls.append((operation, required_action(operation, params)))

    @property
    def operations(self) -> Counter[str]:
        return Counter(op for op, _ in self.calls)


def test_documented_policy_is_read_only_and_exactly_what_the_scanner_needs() -> None:
    actions = documented_actions()
    needed = {a for needs in OPERATION_ACTIONS.values() for a in needs} | set(SERVICE_SIDE_ACTIONS)
    assert actions == needed
    assert not [a for a in actions if WRITE_VERBS.search(a)]


def test_every_call_a_scan_makes_is_allowed_by_the_documented_policy(
    tmp_path: Path, s3world: S3World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = s3world
    # Exercise every path: versions, ACLs, tags, a policy, several accounts.
    w.bucket(
        "legacy-acls",
        policy={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::legacy-acls/*",
                }
            ]
        },
    )
    w.put("legacy-acls", "a.wav", "session.wav", Tagging="client=C1")
    w.put("legacy-acls", "b.txt", body=b"x")
    w.bucket("history", versioned=True)
    w.put("history", "s.wav", "session.wav", Tagging="client=C2")
    w.put("history", "s.wav", "session.m4a", Tagging="client=C2")
    role = "arn:aws:iam::111111111111:role/audit"
    other = w.as_role(role)
    other.bucket("elsewhere")
    other.put("elsewhere", "s.wav", "session.wav")

    recorder = CallRecorder(monkeypatch)
    first = scan_json(tmp_path, "s3://", "--endpoint-url", w.url)
    second = scan_json(tmp_path, "s3://", "--endpoint-url", w.url, "--role-arn", role)
    assert len(first["recordings"]) == 3 and len(second["recordings"]) == 1

    allowed = documented_actions()
    assert {action for _, action in recorder.calls} <= allowed
    exercised = set(recorder.operations)
    assert exercised <= set(OPERATION_ACTIONS)
    # HEAD only follows a refused GET; the inventory's calls are exercised in test_s3_inventory.py
    inventory_calls = {op for op in OPERATION_ACTIONS if "nventory" in op}
    assert exercised >= set(OPERATION_ACTIONS) - {"s3.HeadObject"} - inventory_calls
    assert ("s3.GetObject", "s3:GetObjectVersion") in recorder.calls  # the noncurrent version
    # The report's own count is the same record.
    reported = Counter(first["coverage"]["api_calls"]) + Counter(second["coverage"]["api_calls"])
    assert reported == recorder.operations


def test_call_budget(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("budget")  # ACLs enabled (legacy ownership): each recording also gets its ACL read
    for i in range(40):
        w.put("budget", f"docs/{i:02d}.pdf", body=b"%PDF-1.7")
    for i in range(5):
        w.put("budget", f"rec/{i}.wav", "session.wav", Metadata={"client": f"C{i}"})
    result = scan_json(tmp_path, "s3://budget", "--endpoint-url", w.url)
    calls = result["coverage"]["api_calls"]
    recordings = len(result["recordings"])
    assert recordings == 5
    per_object = {
        op: n
        for op, n in calls.items()
        if op in ("s3.GetObject", "s3.HeadObject", "s3.GetObjectAcl", "s3.GetObjectTagging")
    }
    assert per_object == {"s3.GetObject": 5, "s3.GetObjectAcl": 5}  # nothing for the 40 documents
    assert sum(per_object.values()) <= 2 * recordings
    bucket_level = {
        op: n
        for op, n in calls.items()
        if op == "s3.HeadBucket" or (op.startswith("s3.Get") and op not in per_object)
    }
    assert sum(bucket_level.values()) <= 12
    assert calls["s3.ListObjectsV2"] == 1
