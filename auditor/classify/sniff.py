"""classify(): what a file is, from its first HEAD_BYTES bytes. A pure function of the file's bytes.

The name is used only to name what is inside an encrypted file; it never makes a file a
recording (a text file called .mp3 is "other"; a WAV called .dat is media).

With a RangeReader, a few formats read a little past the head (within LOOK_FURTHER_BUDGET bytes,
which the reader counts): the MP4 track handlers when `moov` is at the end, a Matroska track
list that outgrows the head, a zip's central directory and the start of a DOCX's text, the end of
a Whisper JSON. Without one, those answers come from the head alone.
"""

from __future__ import annotations

from auditor.classify.crypto import classify_crypto
from auditor.classify.media import detect_frame_sync, detect_media
from auditor.classify.model import LOOK_FURTHER_BUDGET, OTHER, Classification
from auditor.classify.ranges import Bytes, RangeReader
from auditor.classify.transcripts import transcript_format
from auditor.classify.zipfiles import LOCAL_HEADER, classify_zip


def classify(
    head: bytes, name: str, reader: RangeReader | None = None, budget: int = LOOK_FURTHER_BUDGET
) -> Classification:
    head = bytes(head)
    more = Bytes(head, reader, budget)
    media = detect_media(head, more)
    if media is not None:
        fmt, kind_of_media = media
        return Classification(kind="media", media=kind_of_media, format=fmt)
    transcript = transcript_format(head, more)
    if transcript is not None:
        return Classification(kind="transcript", media="transcript", format=transcript)
    if head.startswith(LOCAL_HEADER):
        return classify_zip(head, name, more) or OTHER
    crypto = classify_crypto(head, name)
    if crypto is not None:
        return crypto
    # Bare MP3/ADTS frames have no magic number; try them last so text and crypto win.
    frames = detect_frame_sync(head)
    if frames is not None:
        return Classification(kind="media", media=frames[1], format=frames[0])
    return OTHER
