"""`medmassage render` through the CLI: documents checked against the records
they come from, template safety, determinism, and invalid records held back."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import line_of, run_cli, run_here
from hypothesis import given
from hypothesis import strategies as st

from medmassage.care import norms
from medmassage.care.billing import billing_lines, billing_settings
from medmassage.render import jinja as templating
from medmassage.yamlio import load_file

FIXTURE = Path(__file__).parent / "data" / "render" / "store"
FORMATS = ("md", "html", "txt")


@pytest.fixture
def clinic(tmp_path: Path) -> Path:
    """A private copy of the small render fixture store (3 patients, 8 sessions)."""
    target = tmp_path / "clinic"
    shutil.copytree(FIXTURE, target)
    return target


def render(root: Path, *args: str) -> Any:
    """`render` in this process: the documents, messages and exit statuses are the
    command's own; paths from a working folder and the terminal's progress bar are
    checked in real processes below."""
    return run_here("--root", str(root), "render", *args)


def record(root: Path, rel: str) -> dict[str, Any]:
    return load_file(root / rel, rel)


def written(result: Any) -> list[Path]:
    return [Path(line) for line in result.out.splitlines()]


def assert_clean_failure(result: Any) -> None:
    assert result.code != 0, result
    assert "Traceback" not in result.err and "Traceback" not in result.out, result
    assert "internal error" not in result.err, result


def assert_fits_80_columns(paths: list[Path]) -> None:
    for path in paths:
        if path.suffix == ".txt":
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                assert len(line) <= 80, f"{path}:{number} is {len(line)} columns"


def set_field(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- SOAP notes -----------------------------------------------------------------------


def goal_value(text: str, ext: str, goal: str) -> str:
    """The value a SOAP note shows today for one goal, read from that goal's own entry."""
    if ext == "html":
        row = re.search(rf"<tr><td>{goal}: .*?</tr>", text)
        assert row, goal
        return re.findall(r'<td class="num">(\d+)', row.group(0))[0]
    item = re.search(rf"Goal {goal} \(.*?(?=\n- |\n\n|\Z)", text, re.S)
    assert item, goal
    today = re.search(r"today (\d+)", " ".join(item.group(0).split()))
    assert today, item.group(0)
    return today.group(1)


def test_soap_note_shows_the_session_in_every_format(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = render(clinic, "soap", "p-0001/2026-04-02", "--out", str(out))
    assert result.code == 0, result
    assert written(result) == [out / "p-0001" / f"2026-04-02.soap.{ext}" for ext in FORMATS]
    session = record(clinic, "patients/p-0001/sessions/2026-04-02.yaml")
    total = sum(item["minutes"] for item in session["treatment"])
    assert total == 55
    # the note bills what the 8-minute rule computes; each code shows its minutes
    billed = [f"{c} × {u} ({m} min)" for c, m, u in billing_lines(session, billing_settings(None))]
    for ext in FORMATS:
        text = (out / "p-0001" / f"2026-04-02.soap.{ext}").read_text(encoding="utf-8")
        for expected in (
            "Jordan Whitfield",
            "1984-07-19",
            "p-0001",
            "2026-04-02",
            "10:00",
            "Amara Okafor",
            "LMT, CNMT",
            "MT-048213",
            "Neck feels tight",
            "Headaches a little less often",
            "did some of it",
            "62°",
            "0–60°",  # cervical rotation, AAOS (the store sets no other table)
            "AAOS",
            "levator scapulae",
            "trigger point",
            "Trigger point therapy",
            "firm",
            "2026-04-09",
            "Chin tucks",
            "UNSIGNED",
            *billed,
        ):
            assert expected in text, (ext, expected)
        assert re.search(r"3 (→|->) 2", text), ext
        # The total sits beside the session length (the practice's phone holds "55" too).
        plain = " ".join(re.sub(r"<[^>]+>", " ", text).split())
        assert re.search(rf"\b{total}( minutes)? of a 60-minute session", plain), ext
        for goal in session["assessment"]["goals"]:
            assert goal_value(text, ext, goal["goal"]) == f"{goal['value']:g}", (ext, goal)
    md = (out / "p-0001" / "2026-04-02.soap.md").read_text(encoding="utf-8")
    assert f"Total treatment time: {total} minutes of a 60-minute session" in md
    assert "| Cervical spine | rotation | left | 62° | 0–60° | painful |" in md
    assert "| Myofascial release | shoulder | left | 10 | moderate |" in md


def test_signed_note_lists_its_addenda_after_the_signature(clinic: Path, tmp_path: Path) -> None:
    result = render(
        clinic, "soap", "p-0001/2026-03-12", "p-0001/2026-03-19", "--out", str(tmp_path)
    )
    assert result.code == 0, result
    for ext in FORMATS:
        text = (tmp_path / "p-0001" / f"2026-03-12.soap.{ext}").read_text(encoding="utf-8")
        assert "UNSIGNED" not in text
        assert "Amara Okafor" in text and "2026-03-12 16:05 (UTC-05:00)" in text
        signature = text.index("2026-03-12 16:05")
        addendum = text.index("Correction")
        assert signature < addendum < text.index("right levator scapulae, not the left")
        assert "2026-03-13 09:15" in text and "Wrong side recorded" in text
        other = (tmp_path / "p-0001" / f"2026-03-19.soap.{ext}").read_text(encoding="utf-8")
        assert "Correction" not in other and "Addend" not in other.replace("ADDEND", "Addend")


# -- physician updates ----------------------------------------------------------------


def test_physician_update_reports_progress_since_the_last_update(
    clinic: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = render(clinic, "physician-update", "p-0001", "--out", str(out))
    assert result.code == 0, result
    # The last update covered up to 2026-03-19, the last visit is 2026-04-02.
    assert written(result) == [
        out / "p-0001" / f"2026-04-02.physician-update.{ext}" for ext in FORMATS
    ]
    period = ["2026-03-26", "2026-04-02"]
    sessions = [record(clinic, f"patients/p-0001/sessions/{day}.yaml") for day in period]
    minutes = sum(t["minutes"] for s in sessions for t in s["treatment"])
    md = (out / "p-0001" / "2026-04-02.physician-update.md").read_text(encoding="utf-8")
    for expected in (
        "Riverside Medical Massage",
        "Dana Lee, MD",
        "Fax: 518-555-0191",
        "Dear Dr. Lee,",
        "Period: 2026-03-20 to 2026-04-02",
        "S13.4XXA",
        "Sprain of ligaments of cervical spine",
        "M54.2",
        "valid until 2026-06-01",
        "Visits used: 5 of 12 authorized (2 in this period); 7 remaining",
        f"Total treatment time: {minutes} minutes over 2 visits",
        "**Recommendation: continue.**",
        "- 2026-03-26: 4 → 3",
        "- 2026-04-02: 3 → 2",
        "Chin tucks",
        "full at 1 visit, partial at 1 visit",
        "None recorded this period.",
        "License MT-048213 (NY)",
    ):
        assert expected in md, expected
    rows = {
        line.split(":")[0].strip("| "): line for line in md.splitlines() if line.startswith("| g")
    }
    assert re.search(
        r"\| 7 \| 3 (?:\(unsigned\) )?\(2026-04-02\) \| 2 \| -4 \| improving \| "
        r"clinically meaningful improvement",
        rows["g1"],
    )
    assert re.search(
        r"\| 45 \| 62 (?:\(unsigned\) )?\(2026-04-02\) \| 70 \| \+17 \| improving \| "
        r"improvement beyond measurement error",
        rows["g2"],
    )
    normal = norms.normal_rom("cervical_spine", "rotation")  # the default table, named
    assert f"normal {normal} ({norms.reference()})" in rows["g2"]
    assert re.search(
        r"\| 24 \| 14 (?:\(unsigned\) )?\(2026-04-02\) \| 10 \| -10 \| improving \| "
        r"clinically meaningful .*MCID 7.5",
        rows["g3"],
    )
    txt = (out / "p-0001" / "2026-04-02.physician-update.txt").read_text(encoding="utf-8")
    assert re.search(r"7 -> 3 (?:\(unsigned\) )?\(2026-04-02\) -> 2; change -4", txt)
    assert "CONTINUE" in txt
    html = (out / "p-0001" / "2026-04-02.physician-update.html").read_text(encoding="utf-8")
    pain_chart = html[html.index("<svg") : html.index("</svg>")]
    assert 'aria-label="Current pain per visit (0–10)"' in pain_chart
    assert pain_chart.count("<circle") == 2 * 5  # before and after, for each of the 5 visits
    assert 'aria-label="NDI score (lower is better)"' in html


def test_goals_met_recommend_discharge(clinic: Path) -> None:
    result = render(clinic, "physician-update", "p-0002", "--out", "-", "--format", "md")
    assert result.code == 0, result
    md = result.out
    assert "Period: 2026-05-01 to 2026-05-18" in md  # no update sent yet: from the referral date
    assert "Dear Marco Ruiz," not in md and "Dear Dr. Ruiz," in md
    assert "Visits used: 2 of 4 authorized (2 in this period); 2 remaining" in md
    assert re.search(
        r"\| 30 \| 18 (?:\(unsigned\) )?\(2026-05-18\) \| 20 \| -12 \| met \| "
        r"clinically meaningful improvement [^|\n]*MCID 10",
        md,
    )
    # The period ends at the discharge re-evaluation: the episode is closed, no visits asked for.
    assert "**Recommendation: discharged.**" in md and "all 2 goals are met" in md
    assert "more visits" not in md


def test_a_measured_worsening_recommends_referral_back(clinic: Path) -> None:
    set_field(
        clinic / "patients/p-0001/sessions/2026-04-02.yaml", "      value: 3\n", "      value: 9\n"
    )
    result = render(clinic, "physician-update", "p-0001", "--out", "-", "--format", "txt")
    assert result.code == 0, result
    assert "Recommendation:   REFER" in result.out
    assert "goal g1 is measurably worse than at baseline" in result.out


def test_period_and_letter_date_can_be_chosen(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = render(
        clinic,
        "physician-update",
        "p-0001",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-19",
        "--date",
        "2026-03-20",
        "--format",
        "md",
        "--out",
        str(out),
    )
    assert result.code == 0, result
    md = (out / "p-0001" / "2026-03-19.physician-update.md").read_text(encoding="utf-8")
    assert md.split("\n\n")[1].strip() == "2026-03-20"
    assert "Period: 2026-03-02 to 2026-03-19" in md
    assert "Visits used: 3 of 12 authorized (3 in this period); 9 remaining" in md
    assert "| 24 | — | 10 |" in md  # NDI was not re-measured by 2026-03-19


def test_all_renders_every_session_and_every_active_referred_patient(clinic: Path) -> None:
    soap = render(clinic, "soap", "--all")
    assert soap.code == 0, soap
    sessions = sorted(clinic.glob("patients/*/sessions/*.yaml"))
    expected = {
        clinic / "rendered" / s.parent.parent.name / f"{s.stem}.soap.{ext}"
        for s in sessions
        for ext in FORMATS
    }
    assert set(written(soap)) == expected and len(expected) == 3 * 8
    assert all(path.is_file() for path in expected)
    update = render(clinic, "physician-update", "--all", "--format", "txt")
    assert update.code == 0, update
    assert_fits_80_columns(written(soap) + written(update))
    # p-0003 is discharged: no letter.
    assert written(update) == [
        clinic / "rendered" / "p-0001" / "2026-04-02.physician-update.txt",
        clinic / "rendered" / "p-0002" / "2026-05-18.physician-update.txt",
    ]


def test_paths_and_patient_select_what_to_render(clinic: Path) -> None:
    by_path = run_cli(
        "render",
        "soap",
        "patients/p-0002",
        "patients/p-0001/sessions/2026-03-05.yaml",
        "--format",
        "md",
        cwd=clinic,
    )
    assert by_path.code == 0, by_path
    assert [p.name for p in written(by_path)] == [
        "2026-03-05.soap.md",
        "2026-05-11.soap.md",
        "2026-05-18.soap.md",
    ]
    assert (
        by_path.out.splitlines()[0] == "rendered/p-0001/2026-03-05.soap.md"
    )  # relative to the working folder
    by_patient = render(
        clinic,
        "soap",
        "--patient",
        "p-0001",
        "--since",
        "2026-03-19",
        "--until",
        "2026-03-26",
        "--format",
        "txt",
    )
    assert [p.name for p in written(by_patient)] == ["2026-03-19.soap.txt", "2026-03-26.soap.txt"]


def test_no_physician_update_without_consent_to_share(clinic: Path) -> None:
    set_field(
        clinic / "patients/p-0002/patient.yaml",
        "share_with_providers: true",
        "share_with_providers: false",
    )
    batch = render(clinic, "physician-update", "--all", "--format", "md")
    assert batch.code == 0, batch
    assert [p.parent.name for p in written(batch)] == ["p-0001"]
    assert "p-0002: no physician update, the patient has not consented" in batch.err
    single = render(clinic, "physician-update", "p-0002")
    assert single.code == 2 and "has not consented to sharing" in single.err


def test_progress_bar_only_on_a_terminal(clinic: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    quiet = render(clinic, "soap", "--all", "--format", "md")
    assert quiet.code == 0 and quiet.err == ""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "medmassage", "--root", str(clinic), "render", "soap", "--all", "--format", "md"],
        env={**env, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Rendering" in (child.before or "")


def test_demo_clinic_renders_completely_and_matches_its_records(store: Path) -> None:
    soap = render(store, "soap", "--all")
    assert soap.code == 0, soap
    sessions = sorted(store.glob("patients/*/sessions/*.yaml"))
    assert sessions and len(written(soap)) == 3 * len(sessions)
    for path in sessions:
        data = load_file(path, path.name)
        md = (store / "rendered" / path.parent.parent.name / f"{path.stem}.soap.md").read_text(
            encoding="utf-8"
        )
        total = sum(t["minutes"] for t in data["treatment"])
        assert (
            f"Total treatment time: {total} minutes of a {data['duration_minutes']}-minute session"
            in md
        ), path
        assert f"Pain before treatment: {data['subjective']['pain']}/10" in md, path
        assert ("UNSIGNED" in md) == ("signature" not in data), path
        for item in data["treatment"]:
            assert f"| {item['minutes']} |" in md, path
    update = render(store, "physician-update", "--all")
    assert update.code == 0, update
    assert_fits_80_columns(written(soap) + written(update))
    letters = [p for p in written(update) if p.suffix == ".md"]
    assert letters
    for letter in letters:
        patient = letter.parent.name
        md = letter.read_text(encoding="utf-8")
        referral_id = re.search(r"^- \w+ of (\S+),", md, re.MULTILINE).group(1)  # type: ignore[union-attr]
        referral = record(store, f"patients/{patient}/referrals/{referral_id}.yaml")
        plans = {
            p.stem
            for p in store.glob(f"patients/{patient}/plans/*.yaml")
            if load_file(p, p.name)["referral"] == referral_id
        }
        used = [
            s
            for s in store.glob(f"patients/{patient}/sessions/*.yaml")
            if load_file(s, s.name)["treatment_plan"] in plans and s.stem[:10] <= letter.name[:10]
        ]
        assert f"Visits used: {len(used)} of {referral['visits_authorized']} authorized" in md, (
            letter
        )
        for d in referral["diagnoses"]:
            assert f"{d['code']}: {d['description']}" in md, letter
        plan = record(store, f"patients/{patient}/plans/{max(plans)}.yaml")
        for goal in plan["goals"]:
            assert re.search(
                rf"^\| {goal['id']}: .*\| {goal['baseline']:g} \| .* \| {goal['target']:g} \|",
                md,
                re.MULTILINE,
            ), (letter, goal["id"])
        assert re.search(r"\*\*Recommendation: (continue|modify|discharge|refer)\.\*\*", md), letter


# -- safety ---------------------------------------------------------------------------


def test_record_text_is_escaped_and_never_run_as_template_code(
    clinic: Path, tmp_path: Path
) -> None:
    hostile = '"<script>alert(1)</script> & {{ 7*7 }} {% raw %} *bold* | pipe"'
    session = clinic / "patients/p-0001/sessions/2026-04-02.yaml"
    set_field(
        session, "report: Neck feels tight at the desk by mid-afternoon.", f"report: {hostile}"
    )
    set_field(
        session,
        "feedback: Felt looser; turning the head was easier.",
        "feedback: " + "Supercalifragilistic" * 6 + " and a very long sentence" * 8,
    )
    result = render(clinic, "soap", "p-0001/2026-04-02", "--out", str(tmp_path))
    assert result.code == 0, result
    assert_fits_80_columns(written(result))
    outputs = {
        ext: (tmp_path / "p-0001" / f"2026-04-02.soap.{ext}").read_text(encoding="utf-8")
        for ext in FORMATS
    }
    for ext, text in outputs.items():
        literal = "{{ 7\\*7 }}" if ext == "md" else "{{ 7*7 }}"  # Markdown shows 7\*7 as 7*7
        assert literal in text and "{% raw %}" in text and "49" not in text, ext
    html = outputs["html"]
    assert (
        "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ 7*7 }}" in html
    )
    assert "\\<script\\>" in outputs["md"] and "\\*bold\\* \\| pipe" in outputs["md"]
    assert "<script>alert(1)</script> & {{ 7*7 }}" in outputs["txt"]


def test_html_is_self_contained_and_printable(clinic: Path) -> None:
    result = render(clinic, "physician-update", "p-0001", "--out", "-", "--format", "html")
    assert result.code == 0, result
    html = result.out
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "@media print" in html
    assert not re.search(r"<(link|script|img)\b|\bsrc=|https?://(?!www\.w3\.org/2000/svg)", html)


def test_store_templates_override_packaged_ones(clinic: Path) -> None:
    (clinic / "templates").mkdir()
    (clinic / "templates" / "soap.md.j2").write_text(
        "Custom note for {{ patient.id }} on {{ session.date }}\n", encoding="utf-8"
    )
    result = render(clinic, "soap", "p-0001/2026-04-02", "--out", "-")
    assert result.code == 0, result
    assert result.out == "Custom note for p-0001 on 2026-04-02\n"
    listing = render(clinic, "--list-templates")
    assert listing.code == 0, listing
    lines = {line.split("\t")[0]: line.split("\t") for line in listing.out.splitlines()}
    assert lines["soap.md.j2"][1:] == ["store", str(clinic / "templates" / "soap.md.j2")]
    assert (
        lines["soap.html.j2"][1] == "packaged" and lines["physician-update.txt.j2"][1] == "packaged"
    )


def test_symlinked_store_template_is_refused(clinic: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET {{ patient.id }}\n", encoding="utf-8")
    (clinic / "templates").mkdir()
    os.symlink(secret, clinic / "templates" / "soap.md.j2")
    result = render(clinic, "soap", "p-0001/2026-04-02", "--format", "md")
    assert_clean_failure(result)
    assert "soap.md.j2" in result.err and "symbolic link" in result.err
    assert "TOP SECRET" not in result.out + result.err and not (clinic / "rendered").exists()
    listing = render(clinic, "--list-templates")
    assert "refused" in next(
        line for line in listing.out.splitlines() if line.startswith("soap.md.j2")
    )


@pytest.mark.parametrize("name", ["../secret.j2", "/etc/passwd", "sub/dir.j2"])
def test_template_names_that_climb_out_are_refused(clinic: Path, tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.j2").write_text("TOP SECRET\n", encoding="utf-8")
    (clinic / "templates").mkdir()
    (clinic / "templates" / "soap.md.j2").write_text(
        f'{{% include "{name}" %}}\n', encoding="utf-8"
    )
    result = render(clinic, "soap", "p-0001/2026-04-02", "--out", "-")
    assert_clean_failure(result)
    assert f"template name {name!r} is refused" in result.err and "TOP SECRET" not in result.out


def test_missing_variable_names_template_line_and_variable_but_no_patient_data(
    clinic: Path,
) -> None:
    (clinic / "templates").mkdir()
    template = "# {{ patient.id }}\n\nNickname: {{ patient.nickname }}\n"
    (clinic / "templates" / "soap.md.j2").write_text(template, encoding="utf-8")
    result = render(clinic, "soap", "p-0001/2026-04-02")
    assert_clean_failure(result)
    assert result.err.count("\n") == 1, result
    assert "soap.md.j2 (store), line 3" in result.err and "nickname" in result.err
    for private in ("Jordan", "Whitfield", "1984-07-19", "Neck feels tight"):
        assert private not in result.err + result.out
    assert not (clinic / "rendered").exists()
    # A key taken from record data is not echoed either.
    (clinic / "templates" / "soap.md.j2").write_text(
        "{% set d = {} %}\n{{ d[patient.name] }}\n", encoding="utf-8"
    )
    result = render(clinic, "soap", "p-0001/2026-04-02")
    assert_clean_failure(result)
    assert "line 2" in result.err and "Jordan" not in result.err


def test_sandbox_and_syntax_errors_are_reported_without_traceback(clinic: Path) -> None:
    (clinic / "templates").mkdir()
    (clinic / "templates" / "soap.md.j2").write_text(
        "ok\n{{ patient.__class__.__mro__ }}\n", encoding="utf-8"
    )
    result = render(clinic, "soap", "p-0001/2026-04-02")
    assert_clean_failure(result)
    assert "soap.md.j2 (store), line 2" in result.err and "Jordan" not in result.err
    (clinic / "templates" / "soap.md.j2").write_text("ok\n\n{% if %}\n", encoding="utf-8")
    result = render(clinic, "soap", "--all")
    assert_clean_failure(result)
    assert "soap.md.j2 (store), line 3" in result.err and not (clinic / "rendered").exists()


_MARKUP = st.text(alphabet=st.sampled_from(list("ab1 2.)-#+=*_`[]<>|&;#\\\n\t")), max_size=40)


@given(st.one_of(_MARKUP, st.text(max_size=40)))
def test_markdown_escaping_keeps_the_text_and_leaves_no_markup(text: str) -> None:
    """Judged by Markdown's rules, not by the module's own patterns: taking the escapes
    away gives the text back, no inline markup character is left bare, no line starts
    a heading, list, rule or underline, and text with nothing special is left alone."""
    out = templating.md_escape(text)
    assert re.sub(r"\\(.)", r"\1", out, flags=re.S) == text
    bare = re.sub(r"\\.", "", out, flags=re.S)
    assert not set(bare) & set("\\`*_[]<>|"), out
    assert not re.search(r"(?<!\\)&#?\w+;", out), out  # an entity would be decoded
    for line in out.split("\n"):
        assert not re.match(r"\s*([#+-]|\d+[.)])(\s|$)", line), out
        assert not re.match(r"\s*[=-][=\s-]*$", line), out
    if not re.search(r"[\\`*_\[\]<>|&#+=\-.)]", text):
        assert out == text


_KEYS = st.sampled_from(["name", "pain", "items", "keys", "get", "copy", "__class__", "mro", "x1"])
_VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=5)),
    lambda inner: st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=8,
)


@given(st.dictionaries(_KEYS, _VALUES, max_size=5), st.lists(_KEYS, min_size=1, max_size=3))
def test_record_fields_read_through_the_sandbox_as_jinja_reads_them(
    record: dict[str, Any], path: list[str]
) -> None:
    """The sandbox answers `record.field` on plain dicts directly (speed); what a template
    gets, or the error it meets, must be exactly what Jinja's own sandbox would give."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    source = "{{ r." + ".".join(path) + " }}"

    def outcome(env: Any) -> str:
        try:
            return env.from_string(source).render(r=record)
        except Exception as exc:
            return type(exc).__name__

    ours = templating.environment(templating.Loader(None), "txt")
    theirs = ImmutableSandboxedEnvironment(undefined=StrictUndefined, finalize=templating._plain)
    assert outcome(ours) == outcome(theirs)


# -- determinism, atomic writes, invalid records ---------------------------------------


def test_rendering_is_byte_identical_across_runs(clinic: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name
        for document in ("soap", "physician-update"):
            result = render(clinic, document, "--all", "--out", str(out))
            assert result.code == 0, result
        runs.append(
            {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        )
    assert runs[0] == runs[1] and len(runs[0]) == 3 * 8 + 3 * 2
    leftovers = list(tmp_path.rglob("*.tmp"))
    assert leftovers == []
    mode = (tmp_path / "one" / "p-0001" / "2026-04-02.soap.md").stat().st_mode & 0o777
    assert mode == 0o600


def test_an_invalid_session_is_reported_while_the_rest_render(clinic: Path) -> None:
    broken = clinic / "patients/p-0001/sessions/2026-03-19.yaml"
    set_field(broken, "  pain: 5\n", "  pain: 15\n")
    line = line_of(broken, "pain: 15")
    soap = render(clinic, "soap", "--all", "--format", "md")
    assert soap.code == 1, soap
    assert re.search(
        rf"patients/p-0001/sessions/2026-03-19\.yaml:{line}:\d+: error schema/\S+: ", soap.err
    ), soap.err
    assert "p-0001/2026-03-19" in soap.err and "Traceback" not in soap.err
    rendered = {p.name for p in written(soap)}
    assert len(rendered) == 7 and "2026-03-19.soap.md" not in rendered
    assert not (clinic / "rendered/p-0001/2026-03-19.soap.md").exists()
    update = render(clinic, "physician-update", "--all", "--format", "md")
    assert update.code == 1, update
    assert [p.parent.name for p in written(update)] == [
        "p-0002"
    ]  # p-0001's letter would miss a visit
    assert (
        "2026-03-19.yaml" in update.err and "physician-update document not rendered" in update.err
    )


def test_writes_never_leave_the_output_folder(clinic: Path, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "p-0001")
    result = render(clinic, "soap", "p-0001/2026-04-02", "--out", str(out))
    assert_clean_failure(result)
    assert "outside" in result.err and list(elsewhere.iterdir()) == []


def test_a_symlinked_output_file_or_an_output_that_is_not_a_folder_is_a_clean_error(
    clinic: Path, tmp_path: Path
) -> None:
    out, target = tmp_path / "out", tmp_path / "target.md"
    (out / "p-0001").mkdir(parents=True)
    target.write_text("not yours\n")
    os.symlink(target, out / "p-0001" / "2026-04-02.soap.md")
    result = render(clinic, "soap", "p-0001/2026-04-02", "--format", "md", "--out", str(out))
    assert_clean_failure(result)
    assert "outside" in result.err and target.read_text() == "not yours\n"
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = render(
        clinic, "soap", "p-0001/2026-04-02", "--format", "md", "--out", str(not_a_folder)
    )
    assert_clean_failure(result)
    assert result.code == 2 and f"--out {not_a_folder} is a file, not a folder" in result.err
    assert not_a_folder.read_text() == ""
    leftovers = [p.name for p in out.rglob(".*.tmp")]
    assert leftovers == []


def test_usage_errors(clinic: Path) -> None:
    cases = [
        (("soap",), "name what to render"),
        (("soap", "p-0001/2026-01-01"), "no such session"),
        (("soap", "p-0099/2026-04-02"), "no patient 'p-0099'"),
        (("soap", "../etc/2026-04-02"), "not a valid patient id"),
        (("physician-update", "p-0001/2026-04-02"), "named by the patient alone"),
        (("soap", "--all", "--out", "-"), "exactly one document"),
        (
            ("physician-update", "p-0001", "--since", "2026-05-01", "--until", "2026-04-01"),
            "starts (2026-05-01) after it ends",
        ),
    ]
    for args, message in cases:
        result = render(clinic, *args)
        assert result.code == 2, (args, result)
        assert message in result.err, (args, result)
        assert "Traceback" not in result.err
