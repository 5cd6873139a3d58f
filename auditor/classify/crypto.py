"""Encrypted containers and key material, recognised by content.

OpenPGP binary has no magic number, so the first packet header is parsed and its fields checked
against the values real implementations write; random data passes about once in a million.
"""

from __future__ import annotations

import binascii
import re

from auditor.classify.model import HEAD_BYTES, Classification
from auditor.classify.names import extension, media_for_extension, strip_crypto_suffixes

# --- OpenPGP packets (RFC 4880 / RFC 9580) --------------------------------------------------------
_PKESK, _SIG, _SKESK, _OPS, _SECRET_KEY, _COMPRESSED, _SED, _LITERAL, _USER_ID = 1, 2, 3, 4, 5, 8, 9, 11, 13
_SEIPD, _AEAD = 18, 20
_PUBKEY_ALGOS = frozenset({1, 2, 3, 16, 17, 18, 19, 22, 25, 26, 27, 28})
_CIPHER_ALGOS = frozenset({1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13})
_HASH_ALGOS = frozenset({1, 2, 3, 8, 9, 10, 11, 12, 14})
_S2K_TYPES = frozenset({0, 1, 3, 4})
_SESSION_KEY_PACKETS = frozenset({_PKESK, _SKESK})
_ENCRYPTED_DATA_PACKETS = frozenset({_SEIPD, _AEAD, _SED})
# Only data packets may use partial body lengths.
# Session key packets checked in a row; a message to more recipients is accepted on these.
_MAX_SESSION_KEYS = 8
_PARTIAL_OK = frozenset({_COMPRESSED, _SED, _LITERAL, _SEIPD, _AEAD})


def _packet(buf: bytes, pos: int) -> tuple[int, int, int] | None:
    """(tag, body offset, body length) of the packet header at pos; length -1 if not given."""
    if pos + 2 > len(buf) or not buf[pos] & 0x80:
        return None
    first = buf[pos]
    if first & 0x40:  # new format
        tag = first & 0x3F
        l1 = buf[pos + 1]
        if l1 < 192:
            return tag, pos + 2, l1
        if l1 < 224:
            if pos + 3 > len(buf):
                return None
            return tag, pos + 3, ((l1 - 192) << 8) + buf[pos + 2] + 192
        if l1 == 255:
            if pos + 6 > len(buf):
                return None
            return tag, pos + 6, int.from_bytes(buf[pos + 2 : pos + 6], "big")
        return (tag, pos + 2, -1) if tag in _PARTIAL_OK else None
    tag = (first >> 2) & 0x0F
    length_type = first & 0x03
    if length_type == 3:
        return (tag, pos + 1, -1) if tag in _PARTIAL_OK else None
    width = 1 << length_type
    if pos + 1 + width > len(buf):
        return None
    return tag, pos + 1 + width, int.from_bytes(buf[pos + 1 : pos + 1 + width], "big")


def _plausible_session_key(tag: int, body: bytes, length: int) -> bool:
    if not body:
        return False
    version = body[0]
    if tag == _PKESK:
        if version == 3:  # version, 8-byte key id, algorithm, encrypted key
            return 12 <= length <= 2048 and len(body) >= 10 and body[9] in _PUBKEY_ALGOS
        if version != 6 or not 12 <= length <= 2048 or len(body) < 3 or body[1] not in (0, 21, 33):
            return False  # v6: version, size of key version + fingerprint (0, 1+20 or 1+32), ...
        algo_at = 2 + body[1]
        return algo_at < len(body) and body[algo_at] in _PUBKEY_ALGOS
    # SKESK: v4 = version, cipher, S2K type, hash ...; v5/v6 add a count and an AEAD algorithm
    if version == 4:
        return (
            4 <= length <= 64
            and len(body) >= 4
            and body[1] in _CIPHER_ALGOS
            and body[2] in _S2K_TYPES
            and body[3] in _HASH_ALGOS
        )
    return version in (5, 6) and 8 <= length <= 128 and len(body) >= 3 and body[2] in _CIPHER_ALGOS


def _plausible_encrypted_data(tag: int, body: bytes) -> bool:
    if tag == _SED or not body:
        return True  # no version byte; only accepted after a session key packet
    if tag == _SEIPD:
        return body[0] == 1 or (body[0] == 2 and len(body) > 1 and body[1] in _CIPHER_ALGOS)
    return body[0] == 1 and len(body) > 2 and body[1] in _CIPHER_ALGOS and body[2] in (1, 2, 3)


def is_openpgp_encrypted(buf: bytes) -> bool:
    """Does buf (a file's head) start an OpenPGP encrypted message: plausible session key packets
    (one per recipient or passphrase), then encrypted data?"""
    pos = 0
    for count in range(_MAX_SESSION_KEYS):
        header = _packet(buf, pos)
        if header is None:
            # Out of reach: in a full head, recipients' keys filled it (the file goes on); in a
            # smaller file, the data ended, and a message is never session keys alone.
            return count > 0 and len(buf) >= HEAD_BYTES
        tag, body_at, length = header
        if tag not in _SESSION_KEY_PACKETS:
            # Encrypted data always follows at least one session key packet in a real message,
            # so a stream starting with SEIPD/AEAD data is not accepted: random bytes would pass.
            return (
                count > 0
                and tag in _ENCRYPTED_DATA_PACKETS
                and _plausible_encrypted_data(tag, buf[body_at : body_at + 4])
            )
        if length < 0 or not _plausible_session_key(tag, buf[body_at : body_at + 16], length):
            return False
        pos = body_at + length
    return True  # that many plausible session keys in a row


def _is_openpgp_secret_key(buf: bytes) -> bool:
    header = _packet(buf, 0)
    if header is None or header[0] != _SECRET_KEY:
        return False
    _, body_at, length = header
    body = buf[body_at : body_at + 6]
    if len(body) < 6 or body[0] not in (4, 5, 6) or body[5] not in _PUBKEY_ALGOS or not 10 <= length < 8192:
        return False
    following = _packet(buf, body_at + length)  # a user ID or a (revocation) signature comes next
    return following is not None and following[0] in (_USER_ID, _SIG)


# --- armored and text formats ---------------------------------------------------------------------
_PGP_MESSAGE = b"-----BEGIN PGP MESSAGE-----"
_AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
_AGE_BINARY = b"age-encryption.org/v1\n"
_OPENSSL_SALTED = b"Salted__"
_KEY_PATTERNS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"(?m)^-----BEGIN PGP PRIVATE KEY BLOCK-----\r?$"), "pgp-private-key"),
    (re.compile(rb"(?m)^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{50,}\r?$"), "age-identity"),
    # The marker must open a line and be followed by base64 or PEM headers: source code and
    # binaries that merely contain the marker string are not keys.
    (
        re.compile(
            rb"(?m)^-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/]"
        ),
        "pem-private-key",
    ),
)
_KEY_HINTS = (b"PRIVATE KEY", b"AGE-SECRET-KEY-1")  # cheap substring tests before the regexes
assert all(b"KEY" in hint for hint in _KEY_HINTS)  # classify_crypto looks for that first


def _armored_pgp_is_encrypted(text: bytes) -> bool:
    """Decode the start of an armored PGP MESSAGE; signed-only messages are not encrypted."""
    lines = text.split(b"\n")[1:40]
    body: list[bytes] = []
    in_headers = True
    for raw in lines:
        line = raw.strip()
        if in_headers:
            if not line:
                in_headers = False
            elif b": " not in line:  # no armor headers at all
                in_headers = False
                body.append(line)
            continue
        if not line or line.startswith((b"=", b"-----")):
            break
        body.append(line)
        if sum(map(len, body)) >= 64:
            break
    joined = b"".join(body)
    try:
        decoded = binascii.a2b_base64(joined[: len(joined) // 4 * 4])
    except (binascii.Error, ValueError):
        return True  # the armor says PGP MESSAGE and we cannot read further: trust the armor
    header = _packet(decoded, 0)
    signed_or_plain = header is not None and header[0] in (_COMPRESSED, _OPS, _SIG, _LITERAL)
    return not signed_or_plain


def encrypted_classification(fmt: str, name: str, inner: str | None = None) -> Classification:
    """An encrypted file of format fmt; what it holds comes from its inner name (or `name` minus
    its encryption suffixes)."""
    inner_name = inner if inner is not None else strip_crypto_suffixes(name)
    inner_media = media_for_extension(extension(inner_name)) if inner_name else None
    return Classification(
        kind="encrypted",
        media=inner_media,
        format=fmt,
        inner_name=inner_name or None,
        inner_media=inner_media,
    )


def classify_crypto(head: bytes, name: str) -> Classification | None:
    """Encrypted file or key material, or None if head is neither."""
    if head.startswith(_AGE_BINARY):
        return encrypted_classification("age", name)
    if head.startswith(_OPENSSL_SALTED):
        return encrypted_classification("openssl-salted", name)
    if head[:1] and head[0] & 0x80:
        if is_openpgp_encrypted(head):
            return encrypted_classification("openpgp", name)
        if _is_openpgp_secret_key(head):
            return Classification(kind="key", media=None, format="pgp-private-key")
        return None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(_PGP_MESSAGE):
        return encrypted_classification("openpgp-armored", name) if _armored_pgp_is_encrypted(text) else None
    if text.startswith(_AGE_ARMOR):
        return encrypted_classification("age-armored", name)
    # Both hints hold "KEY": one scan of the head settles most files (this runs for every file sniffed).
    if b"KEY" in head and any(hint in head for hint in _KEY_HINTS):
        for pattern, key_format in _KEY_PATTERNS:
            if pattern.search(head):
                return Classification(kind="key", media=None, format=key_format)
    return None
