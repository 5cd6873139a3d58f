"""`--redact`: replace client ids and file and folder names with keyed pseudonyms in a result dict.

What is replaced (docs/report.md, "Redaction"):

* every client id (a recording's client and participants, legal-hold and evidence clients, the
  breach register's clients) and
  every consent id, wherever it appears, including inside messages;
* every path component *below* a scan target: file names and folder names (practices file by
  client name). The target itself (`/srv/therapy`, `s3://bucket/prefix`) stays readable, so the
  report still says where; folder structure stays visible because each component is replaced
  on its own and the same name always gets the same pseudonym;
* finding fingerprints (a bare SHA-256 of rule and path would let a reader confirm a guessed
  path) and the location globs of suppression entries.

Pseudonyms are HMAC-SHA256 under the practice's key: the same key gives the same pseudonyms, so
redacted reports of successive runs can be compared, while nobody without the key can reverse
or confirm a name. Common recording extensions are kept (`n-1a2b3c4d5e.m4a.gpg`) because the
format is already in the report. Free text the practice wrote itself (suppression reasons,
legal-hold reasons) is kept apart from the names above: do not put names in it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from auditor.config import ReportConfig
from auditor.errors import InputError

MIN_KEY_LENGTH = 16

# Values of these keys are vocabulary, not names: never rewritten (a file called "high" must not
# turn every severity into a pseudonym).
_VOCABULARY_KEYS = frozenset(
    {
        "severity",
        "category",
        "rule",
        "status",
        "kind",
        "source",
        "media",
        "format",
        "encryption",
        "attribution_source",
        "recorded_at_source",
        "exposure",
        "method",
        "by",
    }
)
# Top-level parts that describe the audit itself, not the audited data.
_AUDIT_KEYS = frozenset(
    {
        "schema_version",
        "tool",
        "as_of",
        "started",
        "finished",
        "run_by",
        "organisation",
        "config",
        "consent_registry",
        "rule_packs",
        "rules",  # rewritten apart: ids and controls are vocabulary, the prose may quote an example id
        "summary",
        "retention",
        "trend",
        "baseline",
        "redaction",
    }
)
_CLIENT_KEYS = frozenset({"client", "participant"})
# Recording, transcript and wrapper extensions: the format is in the report anyway.
_EXTENSIONS_TEXT = (
    "wav mp3 m4a mp4 m4v mov mkv webm ogg oga opus flac aac aif aiff amr caf 3gp 3g2 wma wmv avi "
    "vtt srt txt json yaml yml meta age gpg pgp asc enc zip 7z"
)
_KEPT_EXTENSIONS = frozenset(_EXTENSIONS_TEXT.split())
_ALNUM = r"0-9A-Za-z"


def redaction_key(report: ReportConfig, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key: `report.redaction_key` from the config, else the env var it names. Exit 2 if none."""
    env = os.environ if environ is None else environ
    key = report.redaction_key or env.get(report.redaction_key_env, "")
    if not key:
        raise InputError(
            "--redact",
            f"no redaction key: set the environment variable {report.redaction_key_env} "
            "(or report.redaction_key in auditor.yaml) to a secret of at least "
            f"{MIN_KEY_LENGTH} characters; keep it to get the same pseudonyms next time",
        )
    if len(key) < MIN_KEY_LENGTH:
        raise InputError(
            "--redact",
            f"the redaction key is {len(key)} characters; use at least {MIN_KEY_LENGTH} so pseudonyms "
            "cannot be reversed by trying keys",
        )
    return key.encode("utf-8")


class Redactor:
    """Keyed pseudonyms and the rewrite of a whole result dict."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        # Folder names that are a product's, not a person's ("Dropbox"): kept, in paths and in text.
        self._products: frozenset[str] = frozenset()

    def _digest(self, kind: str, value: str) -> str:
        message = f"{kind}\0{value}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """Names the key without revealing it: two reports with the same key_id share pseudonyms."""
        return self._digest("key-id", "")[:16]

    def client(self, client_id: str) -> str:
        return "client-" + self._digest("client", client_id)[:10]

    def consent(self, consent_id: str) -> str:
        return "consent-" + self._digest("consent", consent_id)[:10]

    def fingerprint(self, fingerprint: str) -> str:
        return self._digest("fingerprint", fingerprint)[:32]

    def name(self, component: str) -> str:
        """One file or folder name; well-known recording extensions survive, product folders too."""
        if component in self._products:
            return component
        parts = component.split(".")
        kept: list[str] = []
        while len(parts) > 1 and parts[-1].lower() in _KEPT_EXTENSIONS:
            kept.insert(0, parts.pop())
        suffix = "".join(f".{ext}" for ext in kept)
        return f"n-{self._digest('name', component)[:10]}{suffix}"

    def relative(self, relpath: str) -> str:
        return "/".join(self.name(part) if part else part for part in relpath.split("/"))

    # --- the whole result -------------------------------------------------------------------

    def redact(self, result: dict[str, Any]) -> None:
        """Rewrite `result` in place. Idempotent for the same key (a second pass is a no-op)."""
        if result.get("redaction", {}).get("key_id") == self.key_id:
            return
        self._products = _product_folders(result)
        table = self._replacements(result)
        rewrite = _Rewriter(table)
        for key, value in result.items():
            if key in _AUDIT_KEYS:
                continue
            result[key] = rewrite.value(value, key)
        for rule in result.get("rules", []):
            for key in ("title", "description", "remediation"):
                if isinstance(rule.get(key), str):
                    rule[key] = rewrite.text(rule[key])
        for finding in result.get("findings", []):
            if finding.get("fingerprint"):
                finding["fingerprint"] = self.fingerprint(finding["fingerprint"])
        suppressions = result.get("suppressions")
        if isinstance(suppressions, dict):
            for entry in suppressions.get("entries", []):
                if entry.get("fingerprint"):
                    entry["fingerprint"] = self.fingerprint(entry["fingerprint"])
                if entry.get("location"):
                    entry["location"] = "glob-" + self._digest("glob", entry["location"])[:10]
        result["redaction"] = {
            "scheme": "hmac-sha256",
            "key_id": self.key_id,
            "replaced": "client ids, consent ids, file and folder names below each scan target, "
            "fingerprints, suppression location globs",
        }

    def _replacements(self, result: dict[str, Any]) -> dict[str, str]:
        """Every original string to hide, mapped to what replaces it.

        Whole paths (and each folder above a file, down to the target) and whole relative paths
        are replaced wherever they occur. A file name or client id is also replaced on its own,
        e.g. inside a message; a folder name alone is not, since `2026` or `audio` would then
        be rewritten inside dates and words.
        """
        table: dict[str, str] = {}
        clients, consents = _identities(result)
        for client_id in clients:
            table[client_id] = self.client(client_id)
        for consent_id in consents:
            table.setdefault(consent_id, self.consent(consent_id))
        declared = _declared_prefixes(result)
        prefixes = _prefixes(result, declared.values())
        folders: set[str] = set()
        for path in _paths(result, prefixes):
            prefix = declared.get(path) or _prefix_of(path, prefixes)
            if prefix is None:  # not under a target: keep the folders, hide the name
                head = path.rpartition("/")[0]
                if not head:
                    continue
                prefix = head + "/"
            start = len(prefix)
            while path[start : start + 1] == "/":
                start += 1
            prefix, rel = path[:start], path[start:]
            if not rel:
                continue
            parts = rel.split("/")
            for depth in range(1, len(parts) + 1):
                sub = "/".join(parts[:depth])
                table[prefix + sub] = prefix + self.relative(sub)
            table[rel] = self.relative(rel)
            if _has_letter(parts[-1]):  # a bare number hides nothing and would hit dates
                table.setdefault(parts[-1], self.name(parts[-1]))
            folders.update(parts[:-1])
        # A folder named after a client ("RIV-7790 Brown") is hidden on its own too, wherever it
        # appears: replacing only the id inside it would leave the rest of the name readable.
        if clients:
            named = re.compile(f"(?<![{_ALNUM}])(?:{_trie_regex(clients)})(?![{_ALNUM}])")
            for folder in folders - self._products - clients:
                if named.search(folder):
                    table.setdefault(folder, self.name(folder))
        return table


def _has_letter(text: str) -> bool:
    return any(char.isalpha() for char in text)


def _identities(result: dict[str, Any]) -> tuple[set[str], set[str]]:
    clients: set[str] = set()
    consents: set[str] = set()

    def walk(value: Any, exposure: bool = False) -> None:
        if isinstance(value, dict):
            # In an exposure's evidence, `client` is the sync product ("Dropbox"), not a person.
            exposure = exposure or "exposure" in value or "recognised_by" in value
            for key, item in value.items():
                if key in _CLIENT_KEYS and isinstance(item, str) and item and not exposure:
                    clients.add(item)
                elif key in ("participants", "clients") and isinstance(item, list):
                    clients.update(str(p) for p in item if p)
                elif key == "consent_id" and isinstance(item, str) and item:
                    consents.add(item)
                elif key == "consent" and isinstance(item, dict) and isinstance(item.get("id"), str):
                    consents.add(item["id"])
                walk(item, exposure or key == "exposures")
        elif isinstance(value, list):
            for item in value:
                walk(item, exposure)

    for key in ("findings", "recordings", "buckets"):
        walk(result.get(key, []))
    walk((result.get("breach_register") or {}).get("breaches", []))  # may name recordings not seen now
    return clients, consents


def _product_folders(result: dict[str, Any]) -> frozenset[str]:
    """Folder names that are a sync product's default ("Dropbox", "OneDrive - Contoso"): the source
    recognised the folder by that very name, so it names a product, not a person."""
    names: set[str] = set()

    def sync_evidence(evidence: Any) -> None:
        if not isinstance(evidence, dict) or evidence.get("recognised_by") != "folder-name":
            return
        if isinstance(evidence.get("source"), str) and "/" not in evidence["source"]:
            names.add(evidence["source"])

    for recording in result.get("recordings", []):
        for exposure in recording.get("exposures") or []:
            if exposure.get("kind") == "sync-folder":
                sync_evidence(exposure.get("evidence"))
    for finding in result.get("findings", []):
        if (finding.get("evidence") or {}).get("exposure") == "sync-folder":
            sync_evidence(finding.get("evidence"))
    return frozenset(names)


def _declared_prefixes(result: dict[str, Any]) -> dict[str, str]:
    """Each recording's and bucket's location -> what comes before its `relpath`: by the
    artifact contract (docs/extending.md), `relpath` holds the names below the target and
    `location` ends with it (S3 adds `?versionId=` to older versions). A location that breaks
    the contract falls back to the scan targets."""
    declared: dict[str, str] = {}
    for item in (*result.get("recordings", []), *result.get("buckets", [])):
        location, rel = item.get("location"), item.get("relpath")
        if not (isinstance(location, str) and isinstance(rel, str) and rel):
            continue
        head = location if location.endswith(rel) else location.rpartition("?")[0]
        if head.endswith(rel) and len(head) > len(rel):
            declared[location] = head[: len(head) - len(rel)]
    return declared


def _prefixes(result: dict[str, Any], declared: Iterable[str]) -> list[str]:
    """What stays readable before the names, longest first: each scan target with its "/"
    (`s3://` alone counts per bucket), and what the artifacts declare (_declared_prefixes)."""
    found: set[str] = set()
    for item in (*result.get("recordings", []), *result.get("buckets", [])):
        if item.get("target"):
            found.add(str(item["target"]))
    for target in result.get("targets", []):
        found.add(target if "://" in target else os.path.abspath(target))
    prefixes = set(declared)
    for base in found:
        if base.rstrip("/") in ("s3:", ""):
            continue  # the whole account (or "/"): per-bucket prefixes come from the locations
        prefixes.add(base.rstrip("/") + "/")
    for item in (*result.get("recordings", []), *result.get("buckets", [])):
        location = str(item.get("location", ""))
        if location.startswith("s3://"):
            prefixes.add("s3://" + location[5:].split("/", 1)[0] + "/")
    return sorted(prefixes, key=len, reverse=True)


def _prefix_of(path: str, prefixes: list[str]) -> str | None:
    for prefix in prefixes:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix
    return None


def _paths(result: dict[str, Any], prefixes: list[str]) -> Iterator[str]:
    """Locations of findings, recordings, buckets and gaps, plus any other value lying under a target."""
    for key in ("findings", "recordings", "buckets"):
        for item in result.get(key, []):
            if item.get("location"):
                yield str(item["location"])
    coverage = result.get("coverage") or {}
    for gap in coverage.get("skipped", []):
        if gap.get("location"):
            yield str(gap["location"])
    for breach in (result.get("breach_register") or {}).get("breaches", []):
        if breach.get("location"):
            yield str(breach["location"])
    if prefixes:
        yield from _strings_under(result, tuple(prefixes))


def _strings_under(value: Any, prefixes: tuple[str, ...]) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(prefixes) and len(value) < 4096:
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _AUDIT_KEYS:
                yield from _strings_under(item, prefixes)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_under(item, prefixes)


class _Rewriter:
    """Replace every occurrence of the table's keys in strings, longest match first.

    One regex built from a character trie: an alternation of 100,000 paths would backtrack
    through each; the trie shares prefixes so each position is tried once per character.
    A match must not sit inside a longer word (letters or digits on either side).
    """

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.pattern = re.compile(f"(?<![{_ALNUM}])(?:{_trie_regex(table)})(?![{_ALNUM}])") if table else None

    def text(self, value: str) -> str:
        if self.pattern is None:
            return value
        exact = self.table.get(value)
        if exact is not None:
            return exact
        return self.pattern.sub(lambda m: self.table[m.group(0)], value)

    def value(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str):
            return value if key in _VOCABULARY_KEYS else self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        return value


def _trie_regex(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True
    return _node_regex(trie)


def _node_regex(node: dict[str, Any]) -> str:
    """Greedy: longer continuations are tried before ending here (`''` is the end marker)."""
    ends = "" in node
    branches = [re.escape(char) + _node_regex(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?"
    return body
