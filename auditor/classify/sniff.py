"""classify(): what a file is, from its first HEAD_BYTES bytes. A pure function of the bytes.

The name is used only to name what is inside an encrypted file; it never makes a file a
recording (a text file called .mp3 is "other"; a WAV called .dat is media).
"""

from __future__ import annotations

from auditor.classify.crypto import classify_crypto
from auditor.classify.media import detect_frame_sync, detect_media
from auditor.classify.model import OTHER, Classification
from auditor.classify.transcripts import transcript_format


def classify(head: bytes, name: str) -> Classification:
    head = bytes(head)
    media = detect_media(head)
    if media is not None:
        fmt, kind_of_media = media
        return Classification(kind="media", media=kind_of_media, format=fmt)
    transcript = transcript_format(head)
    if transcript is not None:
        return Classification(kind="transcript", media="transcript", format=transcript)
    crypto = classify_crypto(head, name)
    if crypto is not None:
        return crypto
    # Bare MP3/ADTS frames have no magic number; try them last so text and crypto win.
    frames = detect_frame_sync(head)
    if frames is not None:
        return Classification(kind="media", media=frames[1], format=frames[0])
    return OTHER
