"""Timed transcripts: WebVTT and SubRip (SRT)."""

from __future__ import annotations

import codecs
import re

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# SRT cue: an index line, then "00:00:01,000 --> 00:00:03,500" (some tools write '.' for ',').
_SRT_START = re.compile(
    r"\A(?:[ \t]*\r?\n)*[ \t]*\d{1,9}[ \t]*\r?\n"
    r"[ \t]*\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}[ \t]+-->[ \t]+\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}"
)


def _is_webvtt(head: bytes) -> bool:
    text = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    # "WEBVTT" must be followed by a space, a tab, a line break or the end of the file.
    return text.startswith(b"WEBVTT") and (len(text) == 6 or text[6:7] in (b" ", b"\t", b"\r", b"\n"))


def _is_srt(head: bytes) -> bool:
    if head.startswith(_UTF16_BOMS):
        text = head[: len(head) // 2 * 2].decode("utf-16", "ignore")
    else:
        start = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
        first = head[start : start + 1]
        if not first or first not in b"0123456789 \t\r\n":
            return False  # cheap exit for everything that is not an SRT
        text = head[start : start + 256].decode("utf-8", "ignore")
    return _SRT_START.match(text) is not None


def transcript_format(head: bytes) -> str | None:
    if _is_webvtt(head):
        return "webvtt"
    if _is_srt(head):
        return "srt"
    return None
