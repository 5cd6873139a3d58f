"""The HTML report, rendered from real scans of real fixture recordings (no browser here).

Browser behaviour (console, network, filters, dialogs) is in test_report_browser.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html as html_lib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.models import make_fingerprint
from auditor.outputs.base import OutputOptions
from auditor.outputs.html import render_html, script_json, visible
from tests.conftest import MEDIA, place, run_cli

HOSTILE = "<img src=x onerror=alert(1)>.wav"


def _practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav", mode=0o644)  # world-readable: breach
    place(root, f"intake/{HOSTILE}", "session.mp3", mode=0o644)  # exposed: in the breach panel
    place(root, "intake/quote\"d 'name'.m4a", "session.m4a")
    place(root, "secure/C-1002_2026-01-05.m4a.gpg", "session.m4a.gpg")
    place(root, "intake/two\nlines.wav", "session.wav", mode=0o644)
    # Encrypted, but world-readable with its key right beside it: a breach for another reason.
    place(root, "uploads/C-1003_2026-11-01.wav.age", "session.wav.age", mode=0o644)
    place(root, "uploads/age-identity.txt", "age-identity.txt", mode=0o644)
    raw = os.path.join(os.fsencode(root / "intake"), b"caf\xe9-latin1.wav")  # not UTF-8
    shutil.copyfile(MEDIA / "session.wav", raw)
    os.chmod(raw, 0o644)
    return root


def _config(tmp_path: Path) -> Path:
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n"
        "  - id: C-1001\n    consents:\n      - {granted: 2026-01-01, purposes: [therapy]}\n"
        "  - id: C-1002\n    consents: []\n    legal_hold: {until: 2027-06-30, reason: records subpoena}\n"
    )
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text(
        "version: 1\norganisation: Riverside Counselling\nconsent_registry: consent.yaml\n"
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
        "report:\n  title: Riverside — quarterly recording audit\n"
    )
    return cfg


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("html")
    # The practice lives where others can traverse (pytest's tmp dirs are 0700), so the
    # world-readable recording is really exposed and the breach panel has something to show.
    open_base = Path(tempfile.mkdtemp(prefix="report-test-"))
    os.chmod(open_base, 0o755)
    if not all(os.stat(a).st_mode & 0o001 for a in [open_base, *open_base.parents]):
        shutil.rmtree(open_base)
        pytest.skip(f"{open_base.parent} is not traversable by others")
    root = _practice(open_base)
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.chmod(directory, 0o755)
    res = run_cli(
        "scan", "-q", root, "--config", _config(tmp), "--as-of", "2026-11-22", "--fail-on", "none",
        "-o", tmp / "r.json", "-o", tmp / "r.html", cwd=tmp,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    yield {
        "dir": tmp,
        "root": root,
        "html": (tmp / "r.html").read_text(encoding="utf-8").replace("<wbr>", ""),
        "json_path": tmp / "r.json",
        "result": json.loads((tmp / "r.json").read_text(encoding="utf-8")),
    }
    shutil.rmtree(open_base)


def _render(result: dict[str, Any], options: OutputOptions | None = None) -> str:
    """The page without the <wbr> break hints paths carry, so a path reads as one string."""
    return render_html(result, options).replace("<wbr>", "")


def _between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def test_report_is_private_self_contained_and_locked_down(scanned: dict[str, Any]) -> None:
    html = scanned["html"]
    assert stat.S_IMODE((scanned["dir"] / "r.html").stat().st_mode) == 0o600
    # Nothing is fetched: no external URL in any src/href, no stylesheet link, no @import or url().
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert '<link rel="stylesheet"' not in html and "@import" not in html
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp, "CSP meta tag missing"
    policy = html_lib.unescape(csp.group(1))  # attribute-escaped; the browser reads it unescaped
    for directive in ("default-src 'none'", "connect-src 'none'", "img-src data:", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    # The hashes in the policy are those of the one inline script and the one inline style.
    script = _between(html, "<script>", "</script>")
    style = _between(html, "<style>", "</style>")
    for text in (script, style):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert html.count("<script>") == 1 and html.count("<style>") == 1


def test_hostile_names_are_escaped_and_embedded_json_cannot_close_the_script(scanned: dict[str, Any]) -> None:
    html = scanned["html"]
    assert "<img src=x" not in html  # never as markup, anywhere
    assert "&lt;img src=x onerror=alert(1)&gt;.wav" in html  # escaped in server-rendered sections
    # A newline and bytes that are not UTF-8 are shown as escapes, not swallowed or mangled.
    breaches = _between(html, 'id="breaches"', "</section>")
    assert "two\\nlines.wav" in breaches and "caf\\xe9-latin1.wav" in breaches
    data_text = _between(html, '<script type="application/json" id="report-data">', "</script>")
    assert "<" not in data_text and ">" not in data_text and "&" not in data_text
    data = json.loads(data_text)
    assert any(s.endswith(HOSTILE) for s in data["strings"])
    assert any(s.endswith("quote\"d 'name'.m4a") for s in data["strings"])


def test_embedded_rows_carry_their_column_maps_and_the_script_reads_them(scanned: dict[str, Any]) -> None:
    """Columns are defined once (Python) and travel with the data; report.js has no positions of its own."""
    html, result = scanned["html"], json.loads(scanned["json_path"].read_text())
    data = json.loads(_between(html, '<script type="application/json" id="report-data">', "</script>"))
    columns = data["columns"]
    for table in ("findings", "recordings"):
        assert sorted(columns[table].values()) == list(range(len(columns[table])))
        assert data[table] and all(len(row) == len(columns[table]) for row in data[table])
    F, R = columns["findings"], columns["recordings"]
    strings = data["strings"]
    by_fingerprint = {f["fingerprint"]: f for f in result["findings"]}
    assert len(data["findings"]) == len(by_fingerprint)
    for row in data["findings"]:
        finding = by_fingerprint[row[F["FP"]]]
        assert strings[row[F["LOC"]]] == finding["location"]
        assert data["severities"][row[F["SEV"]]] == finding["severity"]
        assert data["rules"][row[F["RULE"]]]["id"] == finding["rule"]
        assert strings[row[F["MSG"]]] == finding["message"]
    sizes = {r["location"]: r["size"] for r in result["recordings"]}
    assert {strings[row[R["LOC"]]]: row[R["SIZE"]] for row in data["recordings"]} == sizes
    script = _between(html, "<script>", "</script>")
    assert "D.columns.findings" in script and "D.columns.recordings" in script
    assert not re.search(r"\bF\s*=\s*\{", script)  # no second, positional map


def test_script_json_escapes_separators_and_markup() -> None:
    text = script_json({"a": "</script><b>&\u2028\u2029"})
    assert "</script>" not in text and "\u2028" not in text and "\u2029" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><b>&\u2028\u2029"}


def test_visible_shows_controls_newlines_and_bidi_overrides_as_escapes() -> None:
    assert visible("a\nb\tc\x1b\u202egpj.exe") == "a\\nb\\tc\\x1b\\u202egpj.exe"
    assert visible("caf\\xc3.wav") == "caf\\xc3.wav"  # already-escaped bytes stay as written


def test_header_summary_breaches_and_legal_holds(scanned: dict[str, Any]) -> None:
    html, result = scanned["html"], scanned["result"]
    assert "<title>Riverside — quarterly recording audit</title>" in html
    assert "Riverside Counselling" in html and result["run_by"] in html
    assert "2026-11-22" in html and result["tool"]["version"] in html
    assert "core 1.0.0" in html
    # The hash in the report is that of the JSON written in the same run, checkable with sha256sum.
    digest = hashlib.sha256(scanned["json_path"].read_bytes()).hexdigest()
    assert digest in html and "sha256sum r.json" in html
    # Breach panel: at the top (before the summary), with its deadlines.
    breach = next(f for f in result["findings"] if f["category"] == "breach")
    assert html.index('id="breaches"') < html.index('id="summary"')
    deadline = breach["evidence"]["gdpr_notification_deadline"][:16].replace("T", " ")
    assert deadline in _between(html, 'id="breaches"', "</section>")
    # Legal hold list names the held recording with its reason and end date.
    holds = _between(html, 'id="legal-holds"', "</section>")
    assert "C-1002_2026-01-05.m4a.gpg" in holds and "records subpoena" in holds and "2027-06-30" in holds
    # Posture: a failing control shows how many recordings fail it.
    posture = _between(html, 'id="posture"', "</section>")
    assert "HIPAA" in posture and "GDPR" in posture and "APA/ACA" in posture
    assert re.search(r"\d+ of \d+", posture)
    # Charts are inline SVG, labels escaped, bars carry the filter they apply.
    assert 'data-filter="severity" data-value="critical"' in html


def test_complete_audit_has_no_banner_and_incomplete_one_says_so_first(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    result["coverage"]["skipped"] = []
    result["coverage"]["complete"] = True
    assert "Incomplete audit" not in _render(result)
    result["coverage"]["skipped"] = [
        {"location": "/srv/locked/<b>x</b>", "reason": "permission-denied", "detail": "EACCES"}
    ]
    result["coverage"]["complete"] = False
    html = _render(result)
    body = html.split("<body>", 1)[1]
    assert body.lstrip().startswith('<aside class="banner banner-incomplete"')
    assert "1 place could not be examined" in body
    coverage = _between(html, 'id="coverage"', "</section>")
    assert "permission-denied" in coverage and "/srv/locked/&lt;b&gt;x&lt;/b&gt;" in coverage


def test_retention_limits_from_the_result_are_drawn_on_the_age_chart(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    result.pop("retention", None)
    html = _render(result)
    assert "Retention limits are not in this result" in html
    result["retention"] = {"default_days": 90, "by_purpose": {"supervision": 30, "legal": None}}
    html = _render(result)
    age_chart = _between(html, 'aria-label="Age of recordings against retention limits"', "</svg>")
    assert "default 90 d" in age_chart and "supervision 30 d" in age_chart
    assert 'class="age-over"' in age_chart


def test_report_rerendered_from_saved_json_carries_that_files_hash(scanned: dict[str, Any]) -> None:
    out = scanned["dir"] / "again.html"
    res = run_cli("report", scanned["json_path"], "-o", out, "--fail-on", "none", cwd=scanned["dir"])
    assert res.exit_code == 0, res.output
    digest = hashlib.sha256(scanned["json_path"].read_bytes()).hexdigest()
    assert digest in out.read_text(encoding="utf-8").replace("<wbr>", "")


def test_template_folder_overrides_blocks_and_adds_logo_and_css(
    scanned: dict[str, Any], tmp_path: Path
) -> None:
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}'
        "{% block masthead_brand %}Riverside compliance office{% endblock %}"
        "{% block footer %}<footer>Prepared for {{ meta.organisation }} by {{ meta.run_by }}</footer>{% endblock %}"
    )
    (brand / "brand.css").write_text(".masthead { background: #123456; }")
    (brand / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    out = tmp_path / "branded.html"
    res = run_cli(
        "report", scanned["json_path"], "-o", out, "--template", brand, "--fail-on", "none", cwd=tmp_path
    )
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8").replace("<wbr>", "")
    assert "Riverside compliance office" in html
    assert "Prepared for Riverside Counselling by" in html
    assert "#123456" in _between(html, "<style>", "</style>")  # brand.css joins the hashed style
    assert 'src="data:image/svg+xml;base64,' in html
    # The override still gets the locked-down CSP matching its (extended) stylesheet.
    style = _between(html, "<style>", "</style>")
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in html_lib.unescape(html)


def test_suppressed_and_resolved_findings_appear_in_the_report(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    target = result["findings"][0]
    target["suppressed"] = {
        "reason": "Assessed <low risk>",
        "expires": "2026-12-31",
        "line": 3,
        "by": "fingerprint",
    }
    result["suppressions"] = {
        "file": ".auditor-ignore.yaml",
        "entries": [
            {"line": 3, "fingerprint": target["fingerprint"], "rule": None, "location": None,
             "reason": "Assessed <low risk>", "expires": "2026-12-31", "expired": False, "matched": 1},
        ],
    }  # fmt: skip
    html = _render(result, OutputOptions())
    section = _between(html, 'id="suppressions"', "</section>")
    assert "Assessed &lt;low risk&gt;" in section and "2026-12-31" in section
    assert target["fingerprint"] in section


def test_each_breach_row_says_its_own_reason(scanned: dict[str, Any]) -> None:
    breaches = _between(scanned["html"], 'id="breaches"', "</section>")
    rows = breaches.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    by_name = {
        row.split('<code class="path">', 1)[1].split("</code>", 1)[0].rsplit("/", 1)[1]: row for row in rows
    }
    keyed = by_name["C-1003_2026-11-01.wav.age"]
    assert "key material lies beside it (age-identity.txt)" in keyed and "not encrypted" not in keyed
    plain = by_name["C-1001_2026-11-10.wav"]
    assert "not encrypted" in plain and "key material" not in plain
    # The lead counts the reasons instead of calling every breach "without content encryption".
    lead = breaches.split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    assert "without content encryption" not in lead
    assert re.search(
        r"\d+ not encrypted; 1 encrypted \(age\), but key material lies beside it", " ".join(lead.split())
    )


def test_people_affected_per_breach_and_in_the_summary(scanned: dict[str, Any]) -> None:
    result = scanned["result"]
    breach_locations = {f["location"] for f in result["findings"] if f["category"] == "breach"}
    recordings = {r["location"]: r for r in result["recordings"]}
    clients = {recordings[loc]["client"] for loc in breach_locations if recordings[loc]["client"]}
    unknown = sum(1 for loc in breach_locations if not recordings[loc]["client"])
    assert clients == {"C-1001", "C-1003"} and unknown >= 3  # the hostile, two-line and latin-1 names
    assert result["summary"]["people_affected"]["breaches"] == {
        "clients": 2,
        "unknown_individuals": unknown,
        "recordings": len(breach_locations),
    }
    breaches = " ".join(_between(scanned["html"], 'id="breaches"', "</section>").split())
    assert f"People affected: <strong>2 clients and {unknown} unknown individuals</strong>" in breaches
    assert breaches.count("unknown individual (not attributed)") == unknown
    summary = " ".join(_between(scanned["html"], 'id="summary"', "</section>").split())
    assert f"people affected: 2 clients and {unknown} unknown individuals" in summary


def test_redacted_report_counts_the_same_people(scanned: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "red.json"
    env_key = "AUDITOR_REDACTION_KEY"
    os.environ[env_key] = "k" * 32
    try:
        res = run_cli(
            "report", scanned["json_path"], "--redact", "-o", out, "-o", tmp_path / "red.html", cwd=tmp_path
        )
    finally:
        os.environ.pop(env_key)
    assert res.exit_code in (0, 1), res.output
    redacted = json.loads(out.read_text(encoding="utf-8"))
    assert "C-1001" not in json.dumps(redacted)
    assert redacted["summary"]["people_affected"] == scanned["result"]["summary"]["people_affected"]


def test_scope_and_limitations_is_generated_from_the_result(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    result["coverage"]["skipped"] = [
        {"location": "/srv/locked", "reason": "permission-denied", "detail": "EACCES"},
        {"location": "/srv/locked2", "reason": "permission-denied", "detail": "EACCES"},
        {"location": "/srv/fifo", "reason": "special-file", "detail": "FIFO"},
    ]
    result["coverage"]["excluded"] = 4
    scope = html_lib.unescape(" ".join(_between(_render(result), 'id="scope"', "</section>").split()))
    statement = scope.split('<p class="lead quotable">', 1)[1].split("</p>", 1)[0]
    assert f"On the audit day {result['as_of']}" in statement
    assert f"{result['coverage']['files_seen']:,} files" in statement and result["targets"][0] in statement
    assert "2 places could not be examined, so the audit is incomplete" in statement
    assert "<strong>2 × permission-denied</strong>: the scan's account may not read these places" in scope
    assert "1 × special-file, by design" in scope
    assert "4 places excluded on purpose" in scope
    # What no scan can know: the same list as the officers' guide.
    from auditor.outputs.html.scope import CANNOT_KNOW

    guide = (Path(__file__).resolve().parent.parent / "docs" / "compliance-officers.md").read_text(
        encoding="utf-8"
    )
    section = guide.split("## What the tool cannot know", 1)[1].split("\n## ", 1)[0]
    leads = re.findall(r"^- \*\*(.+?)\*\*", section, re.M)
    assert [lead for lead, _ in CANNOT_KNOW] == leads
    for lead, _ in CANNOT_KNOW:
        assert lead in scope


def test_rules_that_could_not_run_are_named_with_why(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    result["consent_registry"] = None
    scope = " ".join(_between(_render(result), 'id="scope"', "</section>").split())
    assert "<strong>Rule consent-missing</strong> did not run: no consent registry was given." in scope


def test_sign_off_block_and_what_the_hash_covers(scanned: dict[str, Any]) -> None:
    about = " ".join(_between(scanned["html"], 'id="about"', "</section>").split())
    for text in ("Sign-off", "Prepared by", "Reviewed by", "Signature", "Name and role", "Date"):
        assert text in about
    assert "What the hash covers" in about and "It does not cover this HTML file or a printout" in about
    assert (
        "sha256sum r.json" in about
        and "shasum -a 256 r.json" in about
        and "certutil -hashfile r.json SHA256" in about
    )


def test_header_shows_the_scan_time_only_when_it_was_timed(scanned: dict[str, Any]) -> None:
    result = json.loads(json.dumps(scanned["result"]))
    facts = _between(_render(result), 'aria-label="Audit facts"', "</section>")
    assert re.search(r"· took (\d+\.\d s|under 0\.1 s)", facts)
    result["finished"] = result["started"]
    facts = _between(_render(result), 'aria-label="Audit facts"', "</section>")
    assert "took" not in facts and "0.0 s" not in facts


def test_paths_of_config_baseline_and_suppressions_are_absolute(scanned: dict[str, Any]) -> None:
    result = scanned["result"]
    assert os.path.isabs(result["config"]) and result["config"].endswith("auditor.yaml")
    ignore = scanned["dir"] / ".auditor-ignore.yaml"
    ignore.write_text("version: 1\nsuppressions: []\n")
    out = scanned["dir"] / "again.json"
    res = run_cli("report", "r.json", "--baseline", "r.json", "-o", out, cwd=scanned["dir"])
    ignore.unlink()
    assert res.exit_code in (0, 1), res.output
    again = json.loads(out.read_text(encoding="utf-8"))
    assert os.path.isabs(again["baseline"]["file"]) and os.path.isabs(again["suppressions"]["file"])


def test_same_day_audits_get_labels_of_their_own_even_within_one_minute() -> None:
    from auditor.outputs.html.charts import _trend_labels

    def point(as_of: str, started: str | None) -> dict[str, Any]:
        return {"as_of": as_of, "started": started}

    trend = [
        point("2026-11-20", "2026-11-20T09:00:00+00:00"),  # alone on its day: the day is enough
        point("2026-11-22", "2026-11-22T05:11:09+00:00"),
        point("2026-11-22", "2026-11-22T05:11:41+00:00"),  # same minute: to the second
        point("2026-11-22", "2026-11-22T07:30:00+00:00"),
        point("2026-11-23", "2026-11-23T08:00:00+00:00"),
        point("2026-11-23", "2026-11-23T08:00:00+00:00"),  # the same second: numbered
    ]
    labels = [label for label, _ in _trend_labels(trend)]
    assert labels == [
        "2026-11-20",
        "2026-11-22\n05:11:09 UTC",
        "2026-11-22\n05:11:41 UTC",
        "2026-11-22\n07:30 UTC",
        "2026-11-23\n08:00:00 UTC (1)",
        "2026-11-23\n08:00:00 UTC (2)",
    ]
    assert len(set(labels)) == len(labels)


def _merged(tmp_path: Path, hostile: str) -> tuple[str, dict[str, Any]]:
    """Two laptops' results merged by `auditor merge` (HTML, JSON); the second holds a hostile name."""
    root = tmp_path / "Recordings"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav", 0o644)
    place(root, hostile, "session.wav", 0o644)
    out = tmp_path / "scan.json"
    assert run_cli("scan", "-q", "--fail-on", "none", root, "-o", out).exit_code == 0
    paths = []
    for host in ("laptop-a", "laptop-b"):
        data = json.loads(out.read_text())
        data["run_by"] = f"therapist@{host}"
        if host == "laptop-b":
            data["findings"][-1]["fingerprint"] = "0123456789abcdef0123456789abcdef"  # not computable
        paths.append(tmp_path / f"{host}.json")
        paths[-1].write_text(json.dumps(data))
    html, merged = tmp_path / "all.html", tmp_path / "all.json"
    res = run_cli("merge", "-q", "--fail-on", "none", *paths, "-o", html, "-o", merged)
    assert res.exit_code == 0, res.output
    return html.read_text(encoding="utf-8"), json.loads(merged.read_text())


def _parts(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<script type="application/json" id="report-part-\d+" data-encoding="([^"]+)">([^<]*)</script>', html
    )


@pytest.mark.parametrize("lazy", [False, True])
def test_a_merged_report_embeds_one_part_per_scope_that_cannot_close_its_script(
    tmp_path: Path, lazy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.outputs.html import rows

    if lazy:
        monkeypatch.setattr(rows, "EAGER_FINDINGS", 0)
    html, result = _merged(tmp_path, "</script><img src=x>.wav")
    data = json.loads(_between(html, '<script type="application/json" id="report-data">', "</script>"))
    assert data["findings"] == [] and data["lazy"] is lazy
    assert [p["scope"] for p in data["parts"]] == ["laptop-a", "laptop-b"]
    parts = _parts(html)
    assert len(parts) == 2 and {enc for enc, _ in parts} == {"gzip+base64" if lazy else "json"}
    F, shared = data["columns"]["findings"], data["strings"]
    seen = []
    for (_encoding, text), meta in zip(parts, data["parts"], strict=True):
        assert "<" not in text and ">" not in text and "&" not in text
        if lazy:
            assert re.fullmatch(r"[A-Za-z0-9+/=]+", text)
            text = gzip.decompress(base64.b64decode(text)).decode()
        part = json.loads(text)
        columns = part["findings"]
        assert len(columns) == len(F) and all(len(c) == meta["findings"] for c in columns)
        strings = shared + part["strings"]  # a part's indexes count on from the shared strings
        for i in range(meta["findings"]):
            location, rule = strings[columns[F["LOC"]][i]], data["rules"][columns[F["RULE"]][i]]["id"]
            fp = columns[F["FP"]][i]
            assert fp == 0 or fp == "0123456789abcdef0123456789abcdef"  # text only where not computable
            seen.append((strings[columns[F["GROUP"]][i]], location, rule, fp))
    by_key = {(f["scope"], f["location"], f["rule"]): f["fingerprint"] for f in result["findings"]}
    assert {(g, loc, rule) for g, loc, rule, _ in seen} == set(by_key)
    for group, location, rule, fp in seen:
        assert (fp or make_fingerprint(rule, location)) == by_key[group, location, rule]
    assert any(loc.endswith("</script><img src=x>.wav") for _, loc, _, _ in seen)
    assert '<select id="f-group" aria-label="Scope"><option value="">All scopes' in html
    assert ('<option value="laptop-a" selected>' in html) is lazy  # a large merge opens on its first scope
