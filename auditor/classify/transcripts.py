"""Session transcripts recognised by content: the files meeting platforms and AI scribes write.

Caption formats have a signature of their own (WebVTT, SubRip, TTML/DFXP, YouTube SBV, SSA/ASS,
Whisper's JSON and TSV). Plain-text exports (Otter, Zoom's saved captions, Teams and Zoom .txt,
"Name: text" turns with timestamps) have none: they are recognised by their repeated structure,
several speaker-and-timestamp turns in the head with times that never go back, never by a
keyword. DOCX transcripts hold the same turns as paragraphs (see auditor.classify.zipfiles).

Each check starts with a cheap test on the first bytes, because every sniffed file that is not
media comes through here.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import re

from auditor.classify.model import HEAD_BYTES
from auditor.classify.ranges import Bytes

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


def decode_text(head: bytes) -> str | None:
    """The head as text (UTF-8, or UTF-16 with its BOM), or None when it is not text."""
    if head.startswith(_UTF16_BOMS):
        return head[2 : len(head) // 2 * 2].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", "replace")
    body = head[3:] if head.startswith(_UTF8_BOM) else head
    if b"\x00" in body:
        return None
    text = body.decode("utf-8", "replace")
    # A few bad bytes (a cut multi-byte character, a stray Windows-1252 quote) are tolerated.
    return text if text.count("\ufffd") * 100 <= len(text) else None


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


# --- TTML / DFXP -------------------------------------------------------------------------------
# The root element is <tt> in the TTML namespace (W3C TTML1/2, and the DFXP drafts' namespaces).
_TTML_ROOT = re.compile(
    rb"<(?:\w+:)?tt\b[^>]*\bxmlns(?::\w+)?\s*=\s*[\"']http://www\.w3\.org/(?:ns/ttml|2006/(?:04|10)/ttaf1)[\"'#]"
)


# --- YouTube SBV: "0:00:00.500,0:00:04.200" then the caption, cues separated by blank lines -------
_SBV_TIMING = re.compile(r"\d{1,2}:\d{2}:\d{2}\.\d{3},\d{1,2}:\d{2}:\d{2}\.\d{3}[ \t]*$")
_SBV_FIRST = re.compile(rb"\d{1,2}:\d{2}:\d{2}\.\d{3},\d{1,2}:\d{2}:\d{2}\.\d{3}[ \t]*\r?\n")


def _is_sbv(text: str, whole: bool) -> bool:
    lines = [line.strip() for line in text.splitlines()]
    if not whole:
        lines = lines[:-1]  # the last line may be cut
    timings = [i for i, line in enumerate(lines) if _SBV_TIMING.match(line)]
    if not timings or timings[0] != next(i for i, line in enumerate(lines) if line):
        return False  # the first line with something on it must be a timing line
    return len(timings) >= 2 or (whole and len(lines) > timings[0] + 1 and bool(lines[timings[0] + 1]))


# --- SubStation Alpha / Advanced SubStation Alpha ----------------------------------------------
def _ssa_format(text: str) -> str | None:
    if not text.lstrip().startswith("[Script Info]"):
        return None
    window = text[:2048]
    if "ScriptType: v4.00+" in window or "[V4+ Styles]" in window:
        return "ass"
    if "ScriptType:" in window or "[V4 Styles]" in window or "[Events]" in window:
        return "ssa"
    return None


# --- Whisper JSON and TSV, AWS Transcribe JSON ---------------------------------------------------
_NUMBER = rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
# A segment as Whisper (openai-whisper, the OpenAI API's verbose_json, whisperX, faster-whisper
# exports) writes it: "start": 0.0, "end": 1.5, "text": "..." among its keys, in that order.
_SEGMENT = re.compile(
    rb'"start"\s*:\s*' + _NUMBER + rb'\s*,\s*"end"\s*:\s*' + _NUMBER + rb'\s*,\s*"text"\s*:\s*"'
)
_SEGMENTS_ARRAY = re.compile(rb'"segments"\s*:\s*\[\s*\{')
# whisper.cpp's -oj: "transcription": [{"timestamps": {"from": "00:00:00,000", ...
_WHISPER_CPP = re.compile(
    rb'"transcription"\s*:\s*\[\s*\{\s*"timestamps"\s*:\s*\{\s*"from"\s*:\s*"\d{2}:\d{2}:\d{2},\d{3}"'
)
_AWS_TRANSCRIBE = re.compile(rb'"results"\s*:\s*\{\s*"transcripts"\s*:\s*\[\s*\{\s*"transcript"\s*:\s*"')
# openai-whisper's CLI writes {"text": <the whole transcript>, "segments": [...], "language": ...}:
# on a long session the segments start far past the head, but the last one ends the file.
_WHISPER_TEXT_FIRST = re.compile(rb'\{\s*"(?:text|task|language|duration)"\s*:')
_WHISPER_TAIL = re.compile(rb'"language"\s*:\s*"[\w-]{2,16}"\s*\}\s*\Z|\]\s*\}\s*\Z')
_TAIL_BYTES = 2048


# Substring tests (memchr-fast) for the keys that can start a transcript's structure first; the
# full patterns only when one is there: most JSON files are configs and package manifests.
_JSON_KEYS = (b'"segments"', b'"transcription"', b'"results"')


def _json_format(head: bytes, at: int, more: Bytes | None) -> str | None:
    if not any(key in head for key in _JSON_KEYS):
        return _long_whisper_json(head, at, more)
    segments = _SEGMENTS_ARRAY.search(head, at)
    if segments is not None and _SEGMENT.search(head, segments.end(), segments.end() + 600):
        return "whisper-json"
    if _WHISPER_CPP.search(head, at):
        return "whisper-json"
    if _AWS_TRANSCRIBE.search(head, at):
        return "aws-transcribe-json"
    return None


def _long_whisper_json(head: bytes, at: int, more: Bytes | None) -> str | None:
    """openai-whisper's JSON of a long session: "text" fills the head; the last segment ends the file."""
    if more is None or more.whole_file_in_head or not _WHISPER_TEXT_FIRST.match(head, at):
        return None
    tail = more.upto(max(0, more.size - _TAIL_BYTES), _TAIL_BYTES)
    if tail is not None and _WHISPER_TAIL.search(tail.rstrip()) and _SEGMENT.search(tail):
        return "whisper-json"
    return None


# whisper's TSV: a "start<TAB>end<TAB>text" header, then integer milliseconds.
_WHISPER_TSV = re.compile(r"start\tend\ttext\r?\n\d+\t\d+\t")


# --- plain-text speaker turns --------------------------------------------------------------------
# A speaker's name: one to five words starting with a capital (or a caseless letter), like
# "Jane Doe", "Speaker 1", "Dr. O'Neil", "SPEAKER_00".
_NAME = r"(?P<who>[^\W\d_a-z][\w]*(?:[ .'’-]{1,2}[\w]+){0,4}\.?)"
_CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}"  # m:ss or h:mm:ss
_CLOCK3 = r"\d{1,2}:\d{2}:\d{2}"  # h:mm:ss only
_FRACTION = r"(?:[.,]\d{1,3})?"


# (kind, pattern): a "header" turn names the speaker and time on a line of its own, the words
# follow on the next lines; an "inline" turn carries the words after the name; a "cue" is a
# timing line ("0:0:0.0 --> 0:0:3.21", Teams' older DOCX exports) with no name.
@functools.cache
def _turns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The turn patterns, compiled on first use: only a text with clock-like lines needs them, and
    compiling them (Unicode word classes) costs every scan's start-up about 3 ms otherwise."""
    return (
        # Otter, Teams: "Jane Doe  0:03" (two or more spaces, or a tab, before the time)
        ("header", re.compile(rf"{_NAME}(?:[ ]{{2,}}|\t)[ \t]*(?P<time>{_CLOCK}){_FRACTION}[ \t]*$")),
        # Zoom's saved closed captions: "[Jane Doe] 10:00:05"
        ("header", re.compile(rf"\[{_NAME}\][ \t]+(?P<time>{_CLOCK3})[ \t]*$")),
        # "[00:15] Mike: text", "(00:01:02) - Client: text"
        (
            "inline",
            re.compile(
                rf"[\[(](?P<time>{_CLOCK}){_FRACTION}[\])][ \t]*(?:[-–][ \t]*)?{_NAME}[ \t]*:[ \t]+\S"
            ),
        ),
        # "00:00:15 Mike: text", and tab-separated "00:00:15<TAB>Mike<TAB>text"
        ("inline", re.compile(rf"(?P<time>{_CLOCK3}){_FRACTION}[ \t]+(?:[-–][ \t]*)?{_NAME}[ \t]*:[ \t]+\S")),
        ("inline", re.compile(rf"(?P<time>{_CLOCK3}){_FRACTION}\t{_NAME}\t\S")),
        # "Mike (00:15): text", or "Mike [00:01:02]" with the words on the next line
        ("inline", re.compile(rf"{_NAME}[ \t]*[\[(](?P<time>{_CLOCK}){_FRACTION}[\])][ \t]*:?[ \t]*\S")),
        ("header", re.compile(rf"{_NAME}[ \t]*[\[(](?P<time>{_CLOCK}){_FRACTION}[\])][ \t]*:?[ \t]*$")),
        (
            "cue",
            re.compile(
                rf"(?P<time>\d{{1,2}}:\d{{1,2}}:\d{{1,2}}){_FRACTION}[ \t]*-->[ \t]*\d{{1,2}}:\d{{1,2}}:\d{{1,2}}"
            ),
        ),
    )


# Log lines have the same shape ("10:00:01 INFO: started"); their "speakers" are levels.
_NOT_SPEAKERS = frozenset(
    {"info", "warn", "warning", "error", "err", "debug", "trace", "fatal", "notice", "critical", "crit",
     "alert", "emerg", "emergency", "severe", "fine", "finer", "finest", "verbose", "log", "note", "todo",
     "fixme", "step", "stage", "task", "item", "agenda", "break", "lunch", "session", "day", "time"}
)  # fmt: skip
_LINES_LOOKED_AT = 120
_MIN_TURNS = 3
_MIN_MONOLOGUE_TURNS = 6  # a dictation has one speaker: then more turns are needed
# A cheap scan before any decoding: ":dd" preceded by a digit. The literal ':' first lets the
# regex engine skip ahead to each colon instead of trying every position.
_CLOCK_HINT = re.compile(rb":[0-9][0-9]")
_LINE_CLOCK = re.compile(r"[0-9]:[0-9][0-9]")


def _seconds(clock: str) -> int:
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


def has_speaker_turns(lines: list[str]) -> bool:
    """Several speaker/timestamp turns, times never going back, speakers coming back, and the
    turns a good part of the text (a README or a log with a few such lines is not a transcript)."""
    turns: list[tuple[int, str, str | None, int]] = []  # line index, kind, speaker, seconds
    nonempty = 0
    for index, raw in enumerate(lines[:_LINES_LOOKED_AT]):
        line = raw.strip()
        if not line:
            continue
        nonempty += 1
        first = line[0]
        if not (first.isdigit() or first in "[(" or (first.isalpha() and not first.islower())):
            continue  # no turn starts with anything else: skip the regexes
        if _LINE_CLOCK.search(line) is None:
            continue  # every turn has a time in it
        for kind, pattern in _turns():
            match = pattern.match(line)
            if match is None:
                continue
            who = match.groupdict().get("who")
            if who is not None and (len(who) > 48 or who.lower() in _NOT_SPEAKERS or who.startswith("From ")):
                break
            turns.append((index, kind, who, _seconds(match.group("time"))))
            break
    if len(turns) < _MIN_TURNS or len(turns) * 4 < nonempty:
        return False
    times = [t[3] for t in turns]
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        return False
    if all(t % 15 == 0 for t in times):
        return False  # every time on a quarter: a timetable ("9:00", "9:15"), not speech
    speakers = [t[2].lower() for t in turns if t[2] is not None]
    if speakers and max(speakers.count(s) for s in set(speakers)) < 2:
        return False  # every speaker once: a list of names with times, not a conversation
    if speakers and len(set(speakers)) == 1 and len(turns) < _MIN_MONOLOGUE_TURNS:
        return False  # one voice needs more turns: a changelog's three "Build:" lines are not a talk
    # A header turn's words follow it; a column of "Name  9:00" lines is an agenda or a table.
    turn_lines = {t[0] for t in turns}
    headers = [t[0] for t in turns if t[1] == "header"]
    spoken = sum(1 for i in headers if _words_follow(lines, i, turn_lines))
    return spoken >= len(headers) - 1 and (not headers or spoken >= 2 or len(headers) < len(turns))


def _words_follow(lines: list[str], index: int, turn_lines: set[int]) -> bool:
    for following in range(index + 1, min(len(lines), index + 4)):
        if lines[following].strip():
            return following not in turn_lines
    return False


def _clock_hints(head: bytes) -> int:
    return sum(1 for m in _CLOCK_HINT.finditer(head, 1) if 0x30 <= head[m.start() - 1] <= 0x39)


def _plain_text_turns(head: bytes, text: str | None) -> bool:
    if b"\x00" in head or head.count(b":") < _MIN_TURNS or _clock_hints(head) < _MIN_TURNS:
        return False  # binary (UTF-16 text is handled apart), or too few times to hold turns
    if text is None:
        text = decode_text(head)
        if text is None:
            return False
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]  # cut by the end of the head
    return has_speaker_turns(lines)


_LEADING = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")  # a UTF-8 BOM and blank space before the text


def transcript_format(head: bytes, more: Bytes | None = None) -> str | None:
    """The transcript format of head, or None. `more` lets a Whisper JSON be confirmed by its end."""
    if _is_webvtt(head):
        return "webvtt"
    if _is_srt(head):
        return "srt"
    at = _LEADING.match(head).end()  # type: ignore[union-attr]  # matches the empty string at least
    first = head[at : at + 1]
    if first == b"<":
        return "ttml" if _TTML_ROOT.search(head, at, at + 2048) is not None else None
    if first == b"{":
        return _json_format(head, at, more)
    if first == b"[" and head.startswith(b"[Script Info]", at):
        text = decode_text(head)
        return _ssa_format(text) if text is not None else None
    text = None
    if first.isdigit() and _SBV_FIRST.match(head, at):
        text = decode_text(head)
        if text is not None and _is_sbv(text, whole=len(head) < HEAD_BYTES):
            return "sbv"
    elif first == b"s" and head.startswith(b"start\tend\ttext", at):
        return "whisper-tsv" if _WHISPER_TSV.match(head[at : at + 256].decode("utf-8", "replace")) else None
    if head.startswith(_UTF16_BOMS):
        decoded = decode_text(head)
        return "text-transcript" if decoded is not None and _plain_utf16(decoded) else None
    return "text-transcript" if _plain_text_turns(head, text) else None


def _plain_utf16(text: str) -> bool:
    lines = text.splitlines()
    return has_speaker_turns(lines[:-1] if len(text) * 2 >= HEAD_BYTES - 2 else lines)
