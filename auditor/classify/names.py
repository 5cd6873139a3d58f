"""Name-based policy: which files are worth reading, and what an encrypted file's inner name says.

Names never make a file a recording (content does); they only let a million-file scan skip the
files whose extension settles that they are documents, code, images or archives.
"""

from __future__ import annotations

import re

# Extensions that settle a file is NOT media, a transcript, encrypted or key material.
# Anything else (media, crypto, neutral .dat/.bin/.tmp/.raw, unknown, no extension) is sniffed.
# .zip stays out on purpose: a password-protected zip of recordings is what we look for.
# .txt is skipped although age identities are conventionally .txt: key-beside-recording checks
# must read a recording's neighbours directly rather than rely on this filter. Text-like names
# (.txt, .json, .docx, .tsv, .xml) are where transcripts lie: auditor.classify.reading says when
# a scan reads them anyway.
NO_SNIFF_EXTENSIONS: frozenset[str] = frozenset(
    {
        # documents and text
        "txt", "md", "rst", "pdf", "doc", "docx", "dot", "dotx", "odt", "ods", "odp", "rtf", "tex",
        "xls", "xlsx", "xlsm", "ppt", "pptx", "pages", "numbers", "csv", "tsv", "log",
        "epub", "mobi", "eml", "msg", "ics", "vcf",
        # markup, data and config
        "html", "htm", "xhtml", "css", "scss", "sass", "less", "xml", "xsd", "xsl", "json",
        "jsonl", "yaml", "yml", "toml", "ini", "cfg", "conf", "properties", "lock", "svg",
        # code (.ts is not here: TypeScript or an MPEG transport stream, only the content can tell;
        # a .d.ts declaration file is always TypeScript, see needs_sniff)
        "py", "pyc", "pyo", "pyi", "ipynb", "js", "mjs", "cjs", "tsx", "jsx", "java",
        "class", "jar", "war", "kt", "scala", "go", "rs", "c", "h", "cc", "cpp", "cxx", "hpp",
        "cs", "m", "mm", "swift", "rb", "php", "pl", "pm", "lua", "r", "sql", "sh", "bash", "zsh",
        "fish", "bat", "cmd", "ps1", "psm1", "vb", "vbs", "dart", "ex", "exs", "erl", "hs", "ml",
        "clj", "el", "vim", "o", "a", "so", "dylib", "dll", "exe", "lib", "obj", "wasm", "map",
        # images and fonts
        "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "ico", "icns", "heic", "heif",
        "avif", "psd", "ai", "eps", "cr2", "nef", "dng", "ttf", "otf", "woff", "woff2",
        # archives and disk images (not zip: see above)
        "tar", "gz", "tgz", "bz2", "tbz2", "xz", "txz", "zst", "lz", "lzma", "7z", "rar", "cab",
        "iso", "dmg", "deb", "rpm", "apk", "msi", "whl", "egg",
    }
)  # fmt: skip

# Names worth a look beside an encrypted recording: is its key lying right there? Such files
# are read for key material even when their extension would not otherwise be sniffed (.txt).
KEY_LIKE_NAME = re.compile(
    r"(\.key|\.pem|identity|secret|private|secring|keys?\.txt)$|^\.?age", re.IGNORECASE
)

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {"wav", "wave", "bwf", "rf64", "w64", "mp3", "m4a", "m4b", "aac", "ogg", "oga", "opus", "flac",
     "amr", "awb", "aif", "aiff", "aifc", "caf", "wma", "weba", "mka", "mp2", "spx", "ac3", "eac3",
     "ec3", "dts", "au", "snd", "voc", "loas", "latm", "3ga", "dss", "ds2"}
)  # fmt: skip
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {"mp4", "m4v", "mov", "qt", "3gp", "3g2", "webm", "mkv", "wmv", "asf", "avi", "ogv", "mts",
     "m2ts", "m2t", "ts", "mpg", "mpeg", "vob", "flv", "f4v"}
)  # fmt: skip
TRANSCRIPT_EXTENSIONS: frozenset[str] = frozenset(
    {"vtt", "webvtt", "srt", "sbv", "ttml", "dfxp", "ass", "ssa"}
)

# Media extensions that code uses too (.ts and .mts are TypeScript far more often than transport
# streams): a name alone with one of these never says "recording" (a zip member, a neighbour);
# the file's content still does.
AMBIGUOUS_MEDIA_EXTENSIONS: frozenset[str] = frozenset({"ts", "mts"})

# Suffixes that wrap a file in encryption; stripped (repeatedly) to find the inner name.
CRYPTO_SUFFIXES: frozenset[str] = frozenset({"gpg", "pgp", "asc", "age", "enc", "aes", "ssl"})


def basename(name: str) -> str:
    """Last component of a local path or an S3 key (both separators, since keys may hold either)."""
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def extension(name: str) -> str:
    """Lower-case last extension without the dot; '' for none (".bashrc" has none)."""
    base = basename(name)
    dot = base.rfind(".")
    return base[dot + 1 :].lower() if dot > 0 else ""


# Sidecars beside a recording (read as sidecars by the sources, never sniffed as text).
SIDECAR_SUFFIXES: tuple[str, ...] = (".meta.yaml", ".meta.json")
TYPESCRIPT_DECLARATION = ".d.ts"


def needs_sniff(name: str) -> bool:
    """False only when the extension settles that the file cannot be a recording or key material."""
    ext = extension(name)
    if ext == "ts":
        return not basename(name).lower().endswith(TYPESCRIPT_DECLARATION)
    return ext not in NO_SNIFF_EXTENSIONS


def media_for_extension(ext: str) -> str | None:
    ext = ext.lower()
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in TRANSCRIPT_EXTENSIONS:
        return "transcript"
    return None


def strip_crypto_suffixes(name: str) -> str:
    """x.m4a.gpg -> x.m4a; x.wav.age.gpg -> x.wav; a name without such suffix is returned as is."""
    base = basename(name)
    while True:
        dot = base.rfind(".")
        if dot <= 0 or base[dot + 1 :].lower() not in CRYPTO_SUFFIXES:
            return base
        base = base[:dot]
