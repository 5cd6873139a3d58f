"""What a failed call means: a coverage gap for the one fact it was to read, or a problem with the
whole run (credentials, configuration, an endpoint that cannot be reached), which ends the scan
with exit code 2 and one line. Every exception a botocore call can raise is one or the other.

S3-compatible stores answer the APIs they lack in several ways: 501 NotImplemented, 405
MethodNotAllowed, XML the parser cannot read, or a 200 with some other document (s3rver answers
`?ownershipControls`, `?versioning` and `?logging` with the bucket listing). The last is caught by
checking the answer's root element before botocore parses it (`check_answer`), since botocore
would read a listing as an empty configuration, that is as "not configured".

A 200 whose body is not well-formed XML is, to botocore, an AWS answer cut short in transit: it
turns it into a 500 and retries (8 attempts here, backing off, 5-10 s a call). From a store that is
not AWS the same broken answer comes back every time, so `refuse_unreadable_answer` takes the place
of that botocore hook for such stores: the call fails at once as unparseable, a coverage gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError, XMLParser

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigNotFound,
    ConfigParseError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidConfigError,
    LoginError,
    MetadataRetrievalError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    RefreshWithMFAUnsupportedError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from auditor.sources.s3.permissions import denied

# Everything a botocore call raises for a reason outside our code. ResponseParserError is not a
# BotoCoreError: a store that answers with something that is not XML raises it.
CALL_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, ResponseParserError)

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"}
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "InvalidToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "UnrecognizedClientException",
    }
)
UNSUPPORTED_CODES = frozenset(
    {"NotImplemented", "XNotImplemented", "MethodNotAllowed", "UnsupportedOperation", "501", "405"}
)
THROTTLING_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "ServiceUnavailable",
        "503",
        "429",
    }
)
_CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    NoAuthTokenError,
    TokenRetrievalError,
    SSOError,
    LoginError,
    UnknownCredentialError,
    RefreshWithMFAUnsupportedError,
    MetadataRetrievalError,
)
_CONFIG_ERRORS = (ProfileNotFound, ConfigNotFound, ConfigParseError, InvalidConfigError, NoRegionError)


class UnexpectedAnswer(BotoCoreError):
    """A store answered a call with a document that is not the answer to it."""

    fmt = "{operation}: {detail}"


@dataclass(frozen=True)
class CallProblem:
    """Why one call's fact is unknown: a coverage gap's reason and detail."""

    reason: str  # access-denied | unsupported | unparseable | throttled | unreachable | vanished | api-error
    detail: str


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', '')}: {err.get('Message', '')}".strip(": ")
    return _one_line(str(exc))


def is_access_denied(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED_CODES


def credential_problem(exc: BaseException) -> str | None:
    """A message when `exc` means the credentials are missing, invalid or expired."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials ({_one_line(str(exc))})"
    if isinstance(exc, ClientError) and error_code(exc) in CREDENTIAL_CODES:
        return f"the store rejected the credentials ({error_message(exc)})"
    if isinstance(exc, SSOError | TokenRetrievalError | LoginError):
        return f"AWS SSO login needed ({_one_line(str(exc))})"
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return f"cannot load AWS credentials ({_one_line(str(exc))})"
    return None


def run_problem(exc: BaseException) -> str | None:
    """The one-line message when `exc` is about the whole run rather than one fact, else None:
    credentials, configuration, invalid parameters, an endpoint that cannot be reached."""
    problem = credential_problem(exc)
    if problem:
        return problem
    if isinstance(exc, _CONFIG_ERRORS):
        return f"AWS configuration: {_one_line(str(exc))}"
    if isinstance(exc, ParamValidationError):
        return f"not a valid S3 request: {_one_line(str(exc))}"
    # The rest of botocore's own errors are about how the client is set up (regions, endpoints,
    # signature versions, retry and checksum settings): no call can succeed.
    setup = isinstance(exc, BotoCoreError) and not isinstance(
        exc, HTTPClientError | BotoConnectionError | UnexpectedAnswer
    )
    if setup and type(exc).__module__ == "botocore.exceptions" and not _per_call(exc):
        return f"AWS client setup: {_one_line(str(exc))}"
    return None


def run_message(exc: BaseException) -> str:
    """One line for a failure that stops the scan: a run problem, or a call the whole target
    depends on (opening an account, listing the buckets, finding the bucket)."""
    problem = run_problem(exc)
    if problem:
        return problem
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return f"cannot reach S3: {_one_line(str(exc))}"
    if isinstance(exc, ResponseParserError):
        return f"the endpoint's answer is not S3 XML: {_one_line(str(exc))}"
    if isinstance(exc, ClientError):
        operation = getattr(exc, "operation_name", "") or "a call"
        return f"S3 refused {operation}: {error_message(exc)}"
    return _one_line(str(exc)) or type(exc).__name__


def _per_call(exc: BaseException) -> bool:
    """botocore errors that belong to one call's answer, not to the setup of every call."""
    names = {
        "ChecksumError",
        "FlexibleChecksumError",
        "IncompleteReadError",
        "PaginationError",
        "AwsChunkedWrapperError",
        "UnseekableStreamError",
        "CapacityNotAvailableError",
        "WaiterError",
        "EventStreamError",
    }
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def call_problem(exc: BaseException, operation: str, params: dict[str, Any] | None = None) -> CallProblem:
    """The gap for one call that failed for a reason that is not about the whole run."""
    code = error_code(exc)
    if is_access_denied(exc):
        return CallProblem("access-denied", denied(operation, params))
    if isinstance(exc, UnexpectedAnswer):
        return CallProblem("unsupported", f"{_one_line(str(exc))}: the store does not support this API")
    if isinstance(exc, ClientError) and code in UNSUPPORTED_CODES:
        return CallProblem(
            "unsupported", f"{operation}: {error_message(exc)} (the store does not support this API)"
        )
    if isinstance(exc, ClientError) and code in THROTTLING_CODES:
        return CallProblem(
            "throttled", f"{operation}: {error_message(exc)} (still throttled after the retries)"
        )
    if isinstance(exc, ClientError) and code in (
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchVersion",
        "404",
        "NotFound",
    ):
        return CallProblem("vanished", f"{operation}: {error_message(exc)}")
    if isinstance(exc, ResponseParserError):
        return CallProblem(
            "unparseable", f"{operation}: the store's answer is not S3 XML ({_one_line(str(exc))})"
        )
    if isinstance(exc, HTTPClientError | EndpointConnectionError):
        return CallProblem("unreachable", f"{operation}: {_one_line(str(exc))}")
    return CallProblem("api-error", f"{operation}: {error_message(exc)}")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --- answers that are not the answer to the call -------------------------------------------------

# The root element of each XML answer the scanner reads (S3 API Reference, "Response Syntax").
EXPECTED_ROOTS: dict[str, str] = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "GetBucketOwnershipControls": "OwnershipControls",
    "GetPublicAccessBlock": "PublicAccessBlockConfiguration",
    "GetBucketEncryption": "ServerSideEncryptionConfiguration",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetObjectLockConfiguration": "ObjectLockConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketPolicyStatus": "PolicyStatus",
    "GetObjectTagging": "Tagging",
}
_PROLOGUE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.DOTALL)
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def root_element(body: bytes) -> str | None:
    """The local name of the document's root element, or None when it does not start with one."""
    head = body[:4096]
    start = _PROLOGUE.match(head)
    m = _ROOT.match(head, start.end() if start else 0)
    return m.group(1).decode("ascii", "replace") if m else None


# Documents that answer some other call (or none): a store that ignores the query string answers a
# configuration request with the bucket listing. Other root names pass: moto, for one, wraps answers
# in <GetBucketVersioningResponse> and the like, and botocore reads the children whatever the root.
_OTHER_ANSWERS = frozenset({*EXPECTED_ROOTS.values(), "Error", "CORSConfiguration", "LocationConstraint"})


def _wrong_document(root: str | None, expected: str) -> bool:
    return root is None or (root != expected and (root in _OTHER_ANSWERS or root.lower() == "html"))


def check_answer(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore's before-parse hook: refuse a successful answer that is some other document."""
    expected = EXPECTED_ROOTS.get(operation_model.name)
    status = int(response_dict.get("status_code") or 0)
    body = response_dict.get("body")
    if expected is None or not 200 <= status < 300 or not isinstance(body, bytes | bytearray):
        return
    root = root_element(bytes(body))
    if _wrong_document(root, expected):
        found = f"<{root}>" if root else "no XML document" if body.strip() else "an empty body"
        raise UnexpectedAnswer(
            operation=f"s3.{operation_model.name}",
            detail=f"answered with {found} where S3 answers <{expected}>",
        )


def refuse_unreadable_answer(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore's before-parse hook for a store that is not AWS, in place of botocore's own
    (handlers._handle_200_error): a 200 holding `<Error>` is still an error to retry, but a 200
    that is not XML at all is that store's answer, unparseable, and is not retried."""
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not isinstance(body, bytes | bytearray) or not body:
        return
    if not _xml_answer(operation_model):
        return  # GetObject, GetBucketPolicy: the payload is the object or the JSON document itself
    parser = XMLParser()
    try:
        parser.feed(bytes(body))
        root = parser.close()
    except ParseError as exc:
        raise ResponseParserError(
            f"s3.{operation_model.name}: the store answered 200 with a body that is not XML ({exc})"
        ) from None
    if root.tag.rpartition("}")[2] == "Error":
        response_dict["status_code"] = 500  # S3's error inside a 200: botocore retries it as a 500


def _xml_answer(operation_model: Any) -> bool:
    """The answer is an XML document (not a streamed object, an event stream or a raw payload)."""
    shape = operation_model.output_shape
    if shape is None or operation_model.has_event_stream_output:
        return False
    payload = shape.serialization.get("payload")
    return payload is None or shape.members[payload].type_name not in ("blob", "string")
