"""How a recording is encrypted: the `encryption` string of the JSON contract as a small type.

The string is `scheme:method` or a bare word, and it is what the result and every output show:

    content:<wrapper>   the content itself (content:openpgp, content:age, content:zip-encrypted)
    volume:<method>     the disk's volume (volume:luks, volume:fscrypt, volume:trusted)
    sse:<algorithm>     an object store's server-side encryption (sse:AES256, sse:aws:kms)
    none                known not to be encrypted
    unknown             cannot be told

Code that needs to know which it is parses it here instead of testing prefixes of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

SCHEMES = ("content", "volume", "sse", "none", "unknown")


@dataclass(frozen=True)
class Encryption:
    """How a recording is protected: a scheme (SCHEMES) and the method that provides it."""

    scheme: str  # one of SCHEMES
    method: str = ""  # the wrapper, volume method or SSE algorithm; "" for none and unknown

    @classmethod
    def parse(cls, text: object) -> Encryption:
        """Any value a result may hold; anything not in the vocabulary is `unknown`."""
        if cls is Encryption and isinstance(text, str):
            return _parsed(text)  # rules ask several times per recording, of a handful of strings
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: object) -> Encryption:
        scheme, _, method = str(text or "").partition(":")
        if scheme in ("content", "volume", "sse") and method:
            return cls(scheme, method)
        if scheme == "none" and not method:
            return cls("none")
        return cls("unknown")

    @classmethod
    def content(cls, wrapper: str | None) -> Encryption:
        return cls("content", wrapper or "unknown-wrapper")

    @classmethod
    def server_side(cls, algorithm: str | None) -> Encryption:
        """An S3-style server-side encryption algorithm, or none."""
        return cls("sse", algorithm) if algorithm else cls("none")

    def __str__(self) -> str:
        return f"{self.scheme}:{self.method}" if self.method else self.scheme

    @property
    def of_content(self) -> bool:
        """The content itself is encrypted (the HIPAA safe harbor's kind, with the key kept apart)."""
        return self.scheme == "content"

    @property
    def by_server(self) -> bool:
        return self.scheme == "sse"

    @property
    def with_kms(self) -> bool:
        """Server-side encryption under KMS-managed keys (aws:kms, and aws:kms:dsse)."""
        return self.scheme == "sse" and self.method.split(":")[:2] == ["aws", "kms"]


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Encryption:
    return Encryption._parse(text)  # frozen: one instance can serve every caller
