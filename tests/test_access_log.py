"""The S3 server access log parser: AWS's documented layout, one test per field quirk.

Source of the layout and of the example records below: Amazon S3 User Guide, "Amazon S3 server
access log format" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html; the
same text in github.com/awsdocs/amazon-s3-userguide, doc_source/LogFormat.md). The five example
records are copied as published (the 2019 ones have 24 fields; the current page adds Access Point
ARN, aclRequired and Source region at the end).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor.breach import access_log
from auditor.breach.access_log import LINE, MalformedRecord, parse_line, transferred

OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
DOCUMENTED = [
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 3E57427F3EXAMPLE REST.GET.VERSIONING - "
    '"GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - '
    "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1",
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 891CE47D2EXAMPLE REST.GET.LOGGING_STATUS - "
    '"GET /awsexamplebucket1?logging HTTP/1.1" 200 - 242 - 11 - "-" "S3Console/0.4" - '
    "9vKBE6vMhrNiWHZmb2L0mXOcqPGzQOI5XLnCtZNPxev+Hf+7tpT6sxDwDty4LHBUOZJG96N1234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1",
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} A1206F460EXAMPLE REST.GET.BUCKETPOLICY - "
    '"GET /awsexamplebucket1?policy HTTP/1.1" 404 NoSuchBucketPolicy 297 - 38 - "-" "S3Console/0.4" - '
    "BNaBsXZQQDbssi6xMBdBU2sLt+Yf5kZDmeBUP35sFoKa3sLLeMC78iwEIWxs99CRUrbS4n11234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1",
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:01:00 +0000] 192.0.2.3 {OWNER} 7B4A0FABBEXAMPLE REST.GET.VERSIONING - "
    '"GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 33 - "-" "S3Console/0.4" - '
    "Ke1bUcazaN1jWuUlPJaxF64cQVpUEhoZKEG/hmy/gijN/I1DeWqDfFvnpybfEseEME/u7ME1234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1",
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:01:57 +0000] 192.0.2.3 {OWNER} DD6CC733AEXAMPLE REST.PUT.OBJECT s3-dg.pdf "
    '"PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1" 200 - - 4406583 41754 28 "-" "S3Console/0.4" - '
    "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234= SigV4 ECDHE-RSA-AES128-SHA "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1",
]
# The current page's first record: three more fields (Access Point ARN, aclRequired, Source region).
CURRENT = (
    f"{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 3E57427F3EXAMPLE "
    'REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - '
    "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 "
    "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"
)


def line(**fields: str) -> str:
    """A GET record in the documented layout, with some fields replaced."""
    values = {
        "owner": OWNER,
        "bucket": "clinic",
        "time": "[20/Nov/2026:09:15:02 +0000]",
        "ip": "198.51.100.7",
        "requester": "-",
        "request_id": "3E57427F3EXAMPLE",
        "operation": "REST.GET.OBJECT",
        "key": "intake/C-1001_2026-11-10.wav",
        "uri": '"GET /clinic/intake/C-1001_2026-11-10.wav HTTP/1.1"',
        "status": "200",
        "error": "-",
        "sent": "24044",
        "size": "24044",
        "total": "41",
        "turn": "12",
        "referer": '"-"',
        "agent": '"curl/8.5.0"',
        "tail": "- s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= - - - "
        "clinic.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1",
        **fields,
    }
    return " ".join(v for v in values.values() if v is not None and v != "<absent>")


def via_regex(text: str) -> access_log.AccessRecord:
    """The authoritative path alone (what the fast path must agree with)."""
    match = LINE.match(text)
    assert match is not None
    g = match.groups()
    return access_log._record(
        g[0], g[1], g[2], g[3:8], access_log._unescape(g[8]), g[9:15], access_log._unescape(g[15]),
        access_log._unescape(g[16]), g[17] or "",
    )  # fmt: skip


def test_the_documented_examples() -> None:
    records = [parse_line(text) for text in DOCUMENTED]
    assert [r.operation for r in records] == [
        "REST.GET.VERSIONING",
        "REST.GET.LOGGING_STATUS",
        "REST.GET.BUCKETPOLICY",
        "REST.GET.VERSIONING",
        "REST.PUT.OBJECT",
    ]
    put = records[4]
    assert (put.bucket, put.key, put.http_status, put.bytes_sent, put.object_size) == (
        "awsexamplebucket1",
        "s3-dg.pdf",
        200,
        0,
        4406583,
    )
    assert records[2].error_code == "NoSuchBucketPolicy" and records[2].http_status == 404
    assert put.field("signature_version") == "SigV4" and put.field("tls_version") == "TLSV1.1"
    assert put.field("access_point_arn") is None  # the 2019 records predate that field
    assert all(r == via_regex(t) for r, t in zip(records, DOCUMENTED, strict=True))


def test_the_current_pages_example_with_its_newer_fields() -> None:
    record = parse_line(CURRENT)
    assert record.field("access_point_arn") == "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP"
    assert record.field("acl_required") == "Yes"
    assert record.field("source_region") == "us-east-1"
    assert record.extra == ()


def test_time_is_bracketed_and_holds_a_space() -> None:
    record = parse_line(line())
    assert record.time_text == "20/Nov/2026:09:15:02 +0000"
    assert record.time == datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC)


def test_time_with_an_offset_is_converted_to_utc() -> None:
    assert parse_line(line(time="[20/Nov/2026:10:15:02 +0100]")).time == datetime(
        2026, 11, 20, 9, 15, 2, tzinfo=UTC
    )
    assert parse_line(line(time="[20/Nov/2026:04:15:02 -0500]")).time == datetime(
        2026, 11, 20, 9, 15, 2, tzinfo=UTC
    )


def test_request_uri_holds_spaces_and_a_query() -> None:
    uri = '"GET /clinic/intake/C-1001_2026-11-10.wav?x-user=johndoe&versionId=3HL4kqtJ HTTP/1.1"'
    assert parse_line(line(uri=uri)).request_uri == uri[1:-1]


def test_escaped_quotes_in_a_quoted_field() -> None:
    text = line(agent='"Mozilla/5.0 (\\"quoted\\" build) curl"')
    record = parse_line(text)
    assert record.user_agent == 'Mozilla/5.0 ("quoted" build) curl'
    assert record.bytes_sent == 24044 and record.field("tls_version") == "TLSv1.2"


def test_brackets_and_spaces_inside_quoted_fields() -> None:
    record = parse_line(line(referer='"https://portal.example/view?[1] a b"', agent='"app [build 7] (x; y)"'))
    assert record.referer == "https://portal.example/view?[1] a b"
    assert record.user_agent == "app [build 7] (x; y)"


def test_dash_for_fields_that_do_not_apply() -> None:
    record = parse_line(line(sent="-", size="-", key="-", error="-", total="-", turn="-"))
    assert record.bytes_sent == 0 and record.object_size is None and record.key == ""


def test_the_key_is_url_encoded() -> None:
    record = parse_line(line(key="intake/C-1001%20first%20session.wav"))
    assert record.key_field == "intake/C-1001%20first%20session.wav"
    assert record.key == "intake/C-1001 first session.wav"


def test_trailing_fields_the_parser_does_not_know_are_kept() -> None:
    record = parse_line(line() + " future-field-1 future-field-2")
    assert record.extra == ("future-field-1", "future-field-2")
    assert record.field("source_region") == "us-east-1"


def test_an_old_record_ends_after_the_user_agent() -> None:
    record = parse_line(line(tail="<absent>"))
    assert record.trailing == () and record.field("host_id") is None and record.user_agent == "curl/8.5.0"


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_line_endings(ending: str) -> None:
    record = parse_line(line() + ending)
    assert record.field("source_region") == "us-east-1"


@pytest.mark.parametrize(
    "broken",
    [
        line(status="2OO"),
        line(sent="24,044"),
        line(time="[20-11-2026 09:15:02]"),
        line(time="[20/Foo/2026:09:15:02 +0000]"),
        line(uri='"GET /clinic/x.wav HTTP/1.1'),  # unterminated quote
        " ".join(line().split(" ")[:9]),  # cut short
        "",
        "not a log line at all",
        line(status="٢٠٠"),  # digits, but not ASCII ones
    ],
)
def test_malformed_records_raise_a_clear_error(broken: str) -> None:
    with pytest.raises(MalformedRecord):
        parse_line(broken)


def test_copy_logs_a_get_record_for_the_source() -> None:
    record = parse_line(line(operation="REST.COPY.OBJECT_GET", sent="-"))
    assert transferred(record)  # the whole object went into the copy


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({}, True),  # GET 200, bytes sent
        ({"status": "206", "sent": "4096"}, True),  # a range
        ({"operation": "WEBSITE.GET.OBJECT"}, True),
        ({"status": "304", "sent": "-"}, False),  # not modified: nothing sent
        (
            {"status": "403", "error": "AccessDenied", "sent": "243"},
            False,
        ),  # the error body is not the object
        ({"operation": "REST.HEAD.OBJECT", "sent": "-"}, False),
        ({"sent": "-"}, False),  # a GET that sent nothing
        ({"status": "500", "error": "InternalError"}, False),
    ],
)
def test_what_counts_as_content_transferred(fields: dict[str, str], counts: bool) -> None:
    assert transferred(parse_line(line(**fields))) is counts


_plain = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'), min_size=1, max_size=30
)
_quoted_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\r\n"), max_size=60
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=300, deadline=None)
@given(owner=_plain, requester=_plain, key=_plain, uri=_quoted_text, referer=_quoted_text, agent=_quoted_text)
def test_any_field_values_round_trip_and_both_paths_agree(
    owner: str, requester: str, key: str, uri: str, referer: str, agent: str
) -> None:
    text = line(
        owner=owner,
        requester=requester,
        key=key,
        uri=_quote(uri),
        referer=_quote(referer),
        agent=_quote(agent),
    )
    record = parse_line(text)
    assert (record.bucket_owner, record.requester, record.key_field) == (owner, requester, key)
    assert (record.request_uri, record.referer, record.user_agent) == (uri, referer, agent)
    assert record == via_regex(text)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_both_paths_agree_whatever_the_line_ending(ending: str) -> None:
    assert parse_line(line() + ending) == via_regex(line() + ending) == parse_line(line())


STAMP = "[20/Nov/2026:09:15:02 +0000]"


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except MalformedRecord:
        return MalformedRecord


@settings(max_examples=400, deadline=None)
@given(
    bucket=_plain,
    time=st.one_of(
        st.just("[20/Nov/2026:09:15:02 +0000]"),
        st.text(st.sampled_from("[]/: +-0123456789NovFebx"), max_size=32),
        st.builds(  # one character of a good time replaced, inserted or dropped
            lambda at, char, how: (
                STAMP[:at] + (char if how != "drop" else "") + STAMP[at + (how != "insert") :]
            ),
            st.integers(0, len(STAMP)),
            st.sampled_from("[] /:+-09Nx"),
            st.sampled_from(("replace", "insert", "drop")),
        ),
    ),
)
@example(bucket="clinic", time="[20/Nox/2026:09:15:02 +0000]")  # the regex's shape, no such month
@example(bucket="clinic", time="[20/Nov/2026:09:15:0\u0662 +0000]")  # a digit, not an ASCII one
def test_both_paths_agree_on_any_bucket_and_time_field(bucket: str, time: str) -> None:
    """The fast path cuts the time from the head by position (after owner and bucket): any bucket
    length and any text in the time's place give the regex's answer, a record or malformed."""
    text = line(bucket=bucket, time=time)
    by_regex = _outcome(via_regex, text) if LINE.match(text) else MalformedRecord
    assert _outcome(parse_line, text) == by_regex


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (" ".join(line().split(" ")[:9]), "it ends after field 8, before field 9 (request uri)"),
        (line(time="[20-11-2026 09:15:02]"), "field 3 (time) is not a bracketed time"),
        (line(key=""), "field 8 (key) is not a run of characters without spaces"),
        (line(error=""), "field 11 (error code) is not a run of characters without spaces"),
        (" " + line(), "field 1 (bucket owner) is not"),
        (line(uri='"GET /clinic/x.wav HTTP/1.1'), "field 9 (request uri) is not a double-quoted text"),
        (line(agent='"curl/8.5.0"x'), "what follows the User-Agent is not space-separated fields"),
    ],
)
def test_a_malformed_line_names_the_field_that_breaks_the_layout(broken: str, reason: str) -> None:
    """The officer (and the breach pack) is told where a line leaves AWS's layout, by field number
    and name, never by quoting the line (it holds IPs, keys and requesters)."""
    with pytest.raises(MalformedRecord) as caught:
        parse_line(broken)
    assert str(caught.value).startswith("does not follow the S3 server access log layout: ")
    assert reason in str(caught.value)
    assert "198.51.100.7" not in str(caught.value) and "C-1001" not in str(caught.value)


@pytest.mark.parametrize(
    "time",
    [
        "[31/Nov/2026:09:15:02 +0000]",  # no such day
        "[29/Feb/2026:09:15:02 +0000]",  # not a leap year
        "[20/Nov/2026:24:15:02 +0000]",  # hour 24
        "[20/Nov/2026:09:61:02 +0000]",  # minute 61
        "[20/Nov/2026:09:15:60 +0000]",  # second 60: S3 does not log leap seconds, datetime refuses them
        "[20/Nov/2026:09:15:02 +0099]",  # no such zone
        "[20/Nov/2026:09:15:02 +2400]",
        "[01/Jan/0001:00:15:02 +0100]",  # before year 1 in UTC: out of range, never an OverflowError
        "[31/Dec/9999:23:15:02 -0100]",  # after 9999 in UTC
    ],
)
def test_a_time_with_the_right_shape_but_no_such_moment_is_malformed(time: str) -> None:
    """The values are checked on every line, not only on the lines about an exposed key: the
    memo of good halves learns a half only once its values are known to exist."""
    with pytest.raises(MalformedRecord, match=r"^no such time \["):
        parse_line(line(time=time))
    with pytest.raises(MalformedRecord, match=r"^no such time \["):
        via_regex(line(time=time))


def test_remembered_halves_never_combine_into_an_unreadable_time() -> None:
    """Each half of a good time is remembered, so that most lines skip the check of their time's
    values; year 1 at 00:15 and a zone of +0100 are two good halves, but no moment in UTC."""
    parse_line(line(time="[01/Jan/0001:00:15:02 +0000]"))
    parse_line(line(time="[20/Nov/2026:09:15:02 +0100]"))
    with pytest.raises(MalformedRecord, match=r"^no such time"):
        parse_line(line(time="[01/Jan/0001:00:15:02 +0100]"))


_FIELD_NAMES = ("owner", "bucket", "ip", "requester", "request_id", "operation", "key", "status", "error",
                "sent", "size", "total", "turn")  # fmt: skip


@pytest.mark.parametrize("name", _FIELD_NAMES)
def test_an_empty_plain_field_is_malformed_on_both_paths(name: str) -> None:
    """Two spaces in a row leave a field empty: the regex refuses it, and so must the fast path,
    which splits on single spaces (it used to read an empty key as a key)."""
    text = line(**{name: ""})
    assert LINE.match(text) is None
    with pytest.raises(MalformedRecord):
        parse_line(text)
