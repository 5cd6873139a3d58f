"""The assessment pack (issue 13 §4): a public bucket taken from discovery to a filed assessment with
the tool alone, and a local breach with a hostile file name, checked as JSON and in headless Chromium.

Every claim is backed by evidence or marked for the officer: the tests check both directions
(what is pre-filled comes from the register or the logs; what cannot be known is a blank).
"""

from __future__ import annotations

import hashlib
import html as html_module
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import place, run_cli
from tests.conftest_s3 import S3World, moto_url, s3world
from tests.test_breach_evidence import (
    PARTNER,
    STRANGER,
    breach_cli,
    hours_back,
    past_the_top_of_the_hour,
    put_log,
    record,
    setup_public_bucket,
    simple_key,
)

__all__ = ["moto_url", "past_the_top_of_the_hour", "s3world"]  # fixtures used by this module

CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<img src=x onerror=alert(1)>.wav"


def pack_of(tmp_path: Path, *ids: str) -> tuple[dict[str, Any], Path]:
    out = tmp_path / "pack"
    res = breach_cli(
        tmp_path, "report", *ids, "-o", f"{out}.json", "-o", f"{out}.html", "--by", "Dana (privacy officer)"
    )
    assert res.exit_code == 0, res.output
    return json.loads(Path(f"{out}.json").read_text()), Path(f"{out}.html")


def test_a_public_bucket_from_discovery_to_a_filed_assessment(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    ids = setup_public_bucket(tmp_path, w)
    # An unattributed recording in the same bucket: "unknown individuals".
    w.put("clinic", "intake/voice-memo.wav", "session.wav", ACL="public-read")
    assert (
        run_cli(
            "scan", "-q", "s3://clinic", "--endpoint-url", w.url, "--config", tmp_path / "auditor.yaml"
        ).exit_code
        == 1
    )
    listed = json.loads(breach_cli(tmp_path, "list", "--json").output)
    assert len(listed) == 4
    memo = next(r["id"] for r in listed if r["location"].endswith("voice-memo.wav"))

    now = datetime.now(UTC)
    at = hours_back(now, 0, 1)
    one = "intake/C-1001_2026-11-10.wav"
    bodies = {}
    key = simple_key("access/", at + timedelta(minutes=2), "PACKLOG1")
    bodies[f"s3://clinic-logs/{key}"] = put_log(
        w,
        key,
        [
            record(at, one),  # anonymous, full
            record(
                at, one, requester=f"arn:aws:iam::{STRANGER}:user/x", status=206, sent=100, ip="203.0.113.50"
            ),
            record(at, "intake/C-1002_2026-11-11.wav", requester=f"arn:aws:iam::{PARTNER}:user/alice"),
        ],
    )
    res = breach_cli(
        tmp_path, "evidence", "--endpoint-url", w.url, "--since", at.replace(minute=0).isoformat()
    )
    assert res.exit_code == 0, res.output
    # Contain it (the bucket made private), rescan: contained breaches stay in the pack.
    for item in w.s3.list_objects_v2(Bucket="clinic")["Contents"]:
        w.s3.put_object_acl(Bucket="clinic", Key=item["Key"], ACL="private")
    assert run_cli(
        "scan", "-q", "s3://clinic", "--endpoint-url", w.url, "--config", tmp_path / "auditor.yaml"
    ).exit_code in (0, 1)

    pack, html = pack_of(tmp_path)
    listed = {r["id"]: r for r in json.loads(breach_cli(tmp_path, "list", "--json").output)}
    assert sorted(pack["breach_ids"]) == sorted(listed)
    discovered = min(r["first_discovered"] for r in listed.values())
    dates = pack["dates"]
    assert dates["discovered"]["value"] == discovered
    assert (
        dates["gdpr_authority_notice_due"]
        == (datetime.fromisoformat(discovered) + timedelta(hours=72)).isoformat()
    )
    assert (
        dates["hipaa_individual_notice_due"]
        == (datetime.fromisoformat(discovered) + timedelta(days=60)).isoformat()
    )
    assert dates["contained"]["value"] is not None  # every exposure is gone
    assert dates["breach_began"].get("value") == at.isoformat(), (dates, at)  # the first outside read
    assert "access-log" in dates["breach_began"]["basis"]

    affected = pack["affected"]
    assert affected["clients"] == ["C-1001", "C-1002", "C-1003"]
    assert affected["unknown_individuals"]["recordings"] == 1 and affected["individuals_at_least"] == 4
    factors = pack["hipaa_164_402_2"]
    assert factors["factor_1_nature_and_extent"]["recordings"] == 4
    assert factors["factor_1_nature_and_extent"]["media"] == {"audio": 4}
    assert (
        "the client id and the session date are in the file or folder name"
        in factors["factor_1_nature_and_extent"]["identifiers"]
    )
    assert "to_fill" in factors["factor_1_nature_and_extent"]["content"]
    assert factors["factor_2_unauthorised_person"]["requester_classes_seen"] == [
        "anonymous",
        "external",
        "internal",
    ]
    assert any("203.0.113.50" in r for r in factors["factor_2_unauthorised_person"]["outside_requesters"])
    assert factors["factor_3_acquired_or_viewed"]["answer"] == "yes"
    assert factors["factor_4_mitigation"]["contained"] is True
    assert "to_fill" in factors["conclusion"]
    per = {r["breach_id"]: r for r in pack["recordings"]}
    assert per[ids["C-1001_2026-11-10.wav"]]["read_by_others"] == "yes"
    assert per[memo]["clients"] == [] and per[memo]["read_by_others"] in ("no", "unknown")
    assert {f["file"]: f["sha256"] for f in pack["evidence_files"]} == {
        name: hashlib.sha256(body).hexdigest() for name, body in bodies.items()
    }
    gdpr = pack["gdpr_33_3"]
    assert gdpr["a_approximate_number_of_records"]["value"] == 4
    assert gdpr["a_approximate_number_of_data_subjects"] == {
        "known_clients": 3,
        "unattributed_recordings": 1,
        "basis": "attribution of each recording; unattributed recordings are unknown individuals",
    }
    for blank in ("gdpr_33_3.b_contact", "gdpr_33_3.c_likely_consequences", "hipaa_164_404_c.e_contact_procedures",
                  "hipaa_164_404_c.c_steps_individuals_should_take", "hipaa_164_402_2.conclusion"):  # fmt: skip
        assert blank in pack["to_fill"], blank
    assert "fewer than 500 individuals" in pack["hipaa_164_408"]["rule"]
    assert os.stat(html).st_mode & 0o077 == 0 and os.stat(f"{html.with_suffix('.json')}").st_mode & 0o077 == 0

    text = html.read_text()
    assert text.count('class="blank"') == len(pack["to_fill"])
    assert "<script" not in text and "script-src 'none'" in html_module.unescape(text)
    for name, digest in ((f["file"], f["sha256"]) for f in pack["evidence_files"]):
        assert digest in text and name in text

    # The pack is in the audit trail, and the officer files the outcome.
    trail = json.loads(breach_cli(tmp_path, "show", str(memo), "--json").output)["events"]
    assert trail[-1]["kind"] == "pack" and trail[-1]["who"] == "Dana (privacy officer)"
    for breach_id in pack["breach_ids"]:
        assessed = breach_cli(
            tmp_path,
            "assess",
            str(breach_id),
            "--outcome",
            "reported",
            "--note",
            "filed with HHS and the ICO",
        )
        assert assessed.exit_code == 0, assessed.output
    assert breach_cli(tmp_path, "list").output.strip() == "no breaches to assess"
    again, _ = pack_of(tmp_path, *map(str, pack["breach_ids"]))
    assert set(again["hipaa_164_402_2"]["recorded_outcomes"].values()) == {"reported"}


@pytest.fixture
def local_breach(tmp_path: Path) -> Any:
    root = Path(tempfile.mkdtemp(prefix="pack-practice-"))
    try:
        place(root, f"Dropbox/{HOSTILE}", "session.wav")
        place(root, "Dropbox/C-1001_2026-11-10.wav", "session.wav")
        (tmp_path / "auditor.yaml").write_text(
            "version: 1\nstate_dir: state\norganisation: Riverside <Counselling>\nattribution:\n  patterns:\n"
            "    - '(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})'\n"
        )
        assert run_cli("scan", "-q", root, "--config", tmp_path / "auditor.yaml").exit_code == 1
        yield root
    finally:
        shutil.rmtree(root)


def test_local_breach_pack_says_there_is_no_access_evidence(tmp_path: Path, local_breach: Path) -> None:
    pack, _ = pack_of(tmp_path)
    assert pack["hipaa_164_402_2"]["factor_3_acquired_or_viewed"]["answer"] == "unknown"
    assert pack["evidence_files"] == []
    durations = pack["hipaa_164_402_2"]["factor_1_nature_and_extent"]["duration_seconds"]
    assert durations["known_for"] == 2 and durations["total"] == pytest.approx(2 * _wav_seconds(), abs=0.2)
    assert "to_fill" in pack["dates"]["breach_began"]  # no log shows an earlier start
    assert pack["dates"]["contained"]["still_exposed"] == 2


def _wav_seconds() -> float:
    import wave

    with wave.open(str(Path(__file__).parent / "fixtures" / "media" / "session.wav"), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


@pytest.mark.browser
def test_the_pack_in_headless_chromium(tmp_path: Path, local_breach: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (make system-deps)")
    from playwright.sync_api import sync_playwright

    from bench.bench_report import CHROMIUM_ARGS
    from tests.test_report_browser import _axe

    pack, html = pack_of(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        seen: dict[str, list[Any]] = {"console": [], "requests": [], "dialogs": []}
        page.on(
            "console", lambda m: seen["console"].append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
        page.goto(html.as_uri())
        body = page.inner_text("main")
        assert HOSTILE in body and "Riverside <Counselling>" in body  # shown as text
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.locator(".blank").count() == len(pack["to_fill"])
        # The stylesheet applied (the CSP admits it by its hash): blanks are dashed boxes.
        assert page.evaluate("getComputedStyle(document.querySelector('.blank')).borderTopStyle") == "dashed"
        assert "Unknown: the evidence cannot show it either way." in body
        # axe-core (WCAG 2.x A/AA and best practice): the pack goes to a regulator and an auditor
        violations = _axe(page)
        page.pdf(path=str(tmp_path / "pack.pdf"))  # it prints
        browser.close()
    assert violations == []
    assert seen == {"console": [], "requests": [html.as_uri()], "dialogs": []}
    assert (tmp_path / "pack.pdf").stat().st_size > 10_000


def test_pack_errors(tmp_path: Path, local_breach: Path) -> None:
    res = breach_cli(tmp_path, "report", "-o", tmp_path / "pack.pdf")
    assert res.exit_code == 2 and "written as .html or .json" in res.output
    res = breach_cli(tmp_path, "report", "9", "-o", tmp_path / "pack.json")
    assert res.exit_code == 2 and "no breach 9 in the register" in res.output
    res = breach_cli(tmp_path, "report", "-o", tmp_path / "no-such-folder" / "pack.json")
    assert res.exit_code == 2 and "cannot write the pack" in res.output
