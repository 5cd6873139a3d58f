"""CloudTrail S3 data events: who asked for an object, and whether content went out.

A trail delivers gzip JSON files `{"Records": [...]}` under
`AWSLogs/[o-OrgId/]AccountID/CloudTrail/Region/YYYY/MM/DD/`, named
`AccountID_CloudTrail_Region_YYYYMMDDTHHmmZ_UniqueString.json.gz` (the time is the delivery's;
a file holds records from before it). S3 object reads appear only when the trail logs data
events. Record fields used (CloudTrail record contents; S3's data-event examples):

- `eventSource` `s3.amazonaws.com`, `eventName` `GetObject` / `HeadObject`, `eventTime`;
- `requestParameters.bucketName` and `.key` (the key as given, not URL-encoded);
- `errorCode` when the request failed (`AccessDenied`, ...);
- `additionalEventData.bytesTransferredOut`: the bytes sent;
- `userIdentity`: `type`, `accountId`, `arn`, `principalId`. An unauthenticated request shows
  `accountId` `anonymous` (type `AWSAccount` or `Unknown`, as Elastic's detection rule for public
  S3 reads keys on), and `ANONYMOUS_PRINCIPAL` as the principal in some services' records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor.limits import CLOUDTRAIL_JSON
from auditor.safeparse import ParseError, load_json

OBJECT_EVENTS = frozenset({"GetObject", "HeadObject"})
ANONYMOUS_IDS = frozenset({"anonymous", "anonymous_principal"})


class MalformedTrail(ValueError):
    """A file that is not CloudTrail JSON (`{"Records": [...]}`)."""


@dataclass(frozen=True)
class TrailEvent:
    time: datetime
    name: str  # GetObject | HeadObject
    bucket: str
    key: str
    identity_type: str
    account: str | None
    arn: str | None
    principal: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None
    bytes_out: int
    event_id: str | None

    @property
    def anonymous(self) -> bool:
        ids = {str(self.account or "").lower(), str(self.principal or "").lower()}
        return bool(ids & ANONYMOUS_IDS) or (
            self.identity_type == "Unknown" and not self.account and not self.arn
        )

    @property
    def transferred(self) -> bool:
        """Content went out: a GetObject that did not fail and sent bytes."""
        return self.name == "GetObject" and not self.error_code and self.bytes_out > 0


def s3_object_events(data: bytes) -> tuple[list[TrailEvent], list[tuple[int, str]]]:
    """The S3 GetObject/HeadObject records of one CloudTrail file, and the malformed ones: their
    index in `Records` and what is wrong.

    Raises MalformedTrail when the file is not CloudTrail JSON at all."""
    try:
        document = load_json(data, CLOUDTRAIL_JSON)  # a log file is evidence, not trusted: bounded
    except ParseError as exc:
        raise MalformedTrail(f"not JSON ({exc})") from exc
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        raise MalformedTrail('no "Records" list')
    events: list[TrailEvent] = []
    malformed: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            malformed.append((index, "not a JSON object"))
            continue
        if record.get("eventSource") != "s3.amazonaws.com" or record.get("eventName") not in OBJECT_EVENTS:
            continue
        try:
            events.append(_event(record))
        except KeyError as exc:
            malformed.append((index, f"no {exc.args[0]}"))
        except (TypeError, ValueError) as exc:
            malformed.append((index, f"a field of the wrong kind ({exc})"))
    return events, malformed


def _event(record: dict[str, Any]) -> TrailEvent:
    parameters = record["requestParameters"]
    identity = record.get("userIdentity") or {}
    extra = record.get("additionalEventData") or {}
    when = datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("eventTime without a zone")
    return TrailEvent(
        time=when,
        name=str(record["eventName"]),
        bucket=str(parameters["bucketName"]),
        key=str(parameters["key"]),
        identity_type=str(identity.get("type") or ""),
        account=_text(identity.get("accountId")),
        arn=_text(identity.get("arn")),
        principal=_text(identity.get("principalId")),
        source_ip=_text(record.get("sourceIPAddress")),
        user_agent=_text(record.get("userAgent")),
        error_code=_text(record.get("errorCode")),
        bytes_out=int(extra.get("bytesTransferredOut") or 0),
        event_id=_text(record.get("eventID")),
    )


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def trail_day_prefixes(accounts: dict[str, list[str]], days: list[datetime]) -> Iterator[str]:
    """`AccountID/CloudTrail/Region/YYYY/MM/DD/` (below `AWSLogs/`) for each account's regions and each
    day; `accounts` maps an account path (`123456789012` or `o-abc/123456789012`) to its regions."""
    for account, regions in sorted(accounts.items()):
        for region in sorted(regions):
            for day in days:
                yield f"{account}/CloudTrail/{region}/{day:%Y/%m/%d}/"
