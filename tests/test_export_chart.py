"""`medmassage export chart`: the chart released to the patient, through the real CLI on a
copy of the demo clinic. What the release must hold is worked out from the records and
from the render engine itself (`render DOCUMENT --patient P`), never listed by hand."""

from __future__ import annotations

import datetime as dt
import html.parser
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from conftest import DEMO, TODAY, run_cli, run_here
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.documents import DOCUMENTS

FORMATS = ("html", "txt")
# libyaml's reader where PyYAML has it (the pure-Python one reads the same, ten times slower):
# PyYAML's own loader, not the store's composer and pre-scan.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)


def export(store: Path, *args: str, cwd: Path | None = None, real: bool = False) -> Any:
    """`export chart` in this process, or as a real process when `real` (the entry point)."""
    run = run_cli if real else run_here
    return run("--root", str(store), "export", "chart", *args, "--today", TODAY, cwd=cwd)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by posix path relative to it."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def chart_records(store: Path, patient: str) -> dict[str, Any]:
    """The chart's YAML records (paths relative to the store), parsed."""
    folder = store / "patients" / patient
    return {
        path.relative_to(store).as_posix(): read_yaml(path)
        for path in sorted(folder.rglob("*.yaml"))
        if "sent" not in path.relative_to(folder).parts
    }


def strings(node: Any) -> set[str]:
    """Every string value anywhere in a parsed record."""
    if isinstance(node, dict):
        return {s for value in node.values() for s in strings(value)}
    if isinstance(node, list):
        return {s for item in node for s in strings(item)}
    return {node} if isinstance(node, str) else set()


def named_shared(store: Path, patient: str) -> set[str]:
    """The providers' and therapists' files whose id some record of the chart holds."""
    values = {s for data in chart_records(store, patient).values() for s in strings(data)}
    return {
        path.relative_to(store).as_posix()
        for folder in ("providers", "therapists")
        for path in (store / folder).glob("*.yaml")
        if path.stem in values
    }


def rendered_by_engine(store: Path, patient: str, out: Path) -> dict[str, bytes]:
    """What `render DOCUMENT --patient P` writes for every document of the registry (a
    document the engine refuses for this chart, exit 2, writes nothing)."""
    for name in DOCUMENTS:
        args = ["--format", FORMATS[0], "--format", FORMATS[1], "--out", str(out)]
        result = run_here("--root", str(store), "render", name, "--patient", patient, *args)
        assert result.code in (0, 2), result
        assert "Traceback" not in result.err
    return files_under(out / patient) if (out / patient).is_dir() else {}


def send_a_letter(store: Path, patient: str) -> None:
    """Send the patient's physician update to the referring provider (a copy kept in sent/)."""
    referral = next(
        data for rel, data in chart_records(store, patient).items() if "/referrals/" in rel
    )
    result = run_here(
        "--root", str(store), "send", "physician-update", patient, "--via", "fax",
        "--to", referral["provider"], "--at", f"{TODAY}T10:00:00-08:00", "--today", TODAY,
    )  # fmt: skip
    assert result.code == 0, result


class Index(html.parser.HTMLParser):
    """The links of index.html and the cells of each table row."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append({"cells": [], "links": []})
        elif tag == "td":
            self._cell = []
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append(href)
            if self.rows:
                self.rows[-1]["links"].append(unquote(href))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self.rows:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_index(folder: Path) -> Index:
    parser = Index()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    return parser


def first_patient_with_unsigned_note(store: Path) -> str:
    for folder in sorted((store / "patients").iterdir()):
        for note in sorted((folder / "sessions").glob("*.yaml")):
            if "signature" not in read_yaml(note):
                return folder.name
    raise AssertionError("the demo clinic has no unsigned note")


# -- what a release holds -------------------------------------------------------------------


@pytest.mark.parametrize("patient", ["p-0003", "p-0002"])
def test_the_release_holds_the_chart_byte_for_byte_its_documents_and_nothing_else(
    store: Path, tmp_path: Path, patient: str
) -> None:
    send_a_letter(store, patient)
    out = tmp_path / "release"
    # One run as a real process (the entry point); the other in this process.
    result = export(store, patient, str(out), real=patient == "p-0003")
    assert result.code == 0, result
    released = files_under(out)
    chart = files_under(store / "patients" / patient)
    assert any(rel.startswith("sent/") for rel in chart)  # the letter's copy
    for rel, data in chart.items():
        assert released[f"records/patients/{patient}/{rel}"] == data, rel
    assert {rel.split("/")[2] for rel in released if rel.startswith("records/patients/")} == {
        patient
    }
    shared = {rel[len("records/") :] for rel in released if rel.startswith("records/")} - {
        f"patients/{patient}/{rel}" for rel in chart
    }
    assert shared == named_shared(store, patient)
    for rel in shared:
        assert released[f"records/{rel}"] == (store / rel).read_bytes()
    engine = rendered_by_engine(store, patient, tmp_path / "rendered")
    documents = {
        rel.removeprefix("documents/"): data
        for rel, data in released.items()
        if rel.startswith("documents/")
    }
    assert engine and documents == engine
    assert set(released) == {"index.html"} | {f"records/{rel}" for rel in shared} | {
        f"records/patients/{patient}/{rel}" for rel in chart
    } | {f"documents/{rel}" for rel in engine}


def test_a_discharged_patient_gets_the_discharge_summary_and_others_do_not(
    demo_store: Path, tmp_path: Path
) -> None:
    store = demo_store
    for patient in ("p-0002", "p-0003"):
        status = read_yaml(store / "patients" / patient / "patient.yaml")
        out = tmp_path / patient
        assert export(store, patient, str(out)).code == 0
        summaries = sorted((out / "documents").glob("*.discharge-summary.*"))
        if status["status"] == "discharged":
            assert [p.suffix for p in summaries] == [".html", ".txt"]
            assert "Discharge summary" in summaries[0].read_text(encoding="utf-8")
        else:
            assert summaries == []


def test_documents_a_chart_does_not_get_are_named_on_the_index(store: Path, tmp_path: Path) -> None:
    path = store / "patients" / "p-0002" / "patient.yaml"
    text = path.read_text()
    assert "share_with_providers: true" in text
    path.write_text(text.replace("share_with_providers: true", "share_with_providers: false"))
    refused = run_here("--root", str(store), "render", "physician-update", "p-0002")
    assert refused.code == 2  # the engine makes no letter without consent to share
    out = tmp_path / "release"
    result = export(store, "p-0002", str(out), "--format", "json")
    assert result.code == 0, result
    assert not list((out / "documents").glob("*.physician-update.*"))
    assert "physician-update" in {item["document"] for item in result.json()["not_made"]}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Physician update (p-0002): " in page.split("Documents not made")[1]


@pytest.fixture(scope="module")
def _lettered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, bytes]]:
    """A copy of the demo in which p-0003 was sent a physician update, that chart released
    once into a folder, and the release's files (to prove no test changed them)."""
    base = tmp_path_factory.mktemp("lettered")
    store = base / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    send_a_letter(store, "p-0003")
    out = base / "release"
    assert export(store, "p-0003", str(out)).code == 0
    return store, out, files_under(out)


@pytest.fixture
def lettered_store(_lettered: tuple[Path, Path, dict[str, bytes]]) -> Path:
    """The store of `with_a_letter`, only read (exports write elsewhere)."""
    return _lettered[0]


@pytest.fixture
def with_a_letter(_lettered: tuple[Path, Path, dict[str, bytes]]) -> Iterator[Path]:
    """p-0003's chart, once a physician update was sent, released (shared: read only)."""
    _, out, files = _lettered
    yield out
    assert files_under(out) == files, "a test changed the shared release"


def test_the_index_lists_every_file_in_date_order_and_every_link_resolves(
    with_a_letter: Path,
) -> None:
    out = with_a_letter
    index = read_index(out)
    for href in index.links:
        assert not href.startswith(("http:", "https:", "/", "//")), href
        assert (out / unquote(href)).is_file(), href
    assert {unquote(h) for h in index.links} == set(files_under(out)) - {"index.html"}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<link" not in page and "<script" not in page and " src=" not in page
    dated = [row["cells"][0] for row in index.rows if row["cells"] and len(row["cells"]) == 4]
    days = [cell for cell in dated if cell[:4].isdigit()]
    assert days == sorted(days) and len(days) > 10
    assert dated[: len(days)] == days  # undated rows come last


def test_the_index_says_which_notes_are_unsigned(demo_store: Path, tmp_path: Path) -> None:
    store = demo_store
    patient = first_patient_with_unsigned_note(store)
    out = tmp_path / "release"
    result = export(store, patient, str(out))
    assert result.code == 0, result
    rows = read_index(out).rows
    unsigned = []
    for rel, data in chart_records(store, patient).items():
        if "/sessions/" not in rel and "/addenda/" not in rel:
            continue
        row = next(r for r in rows if f"records/{rel}" in r["links"])
        signed = "signature" in data
        assert row["cells"][2] == ("Signed" if signed else "Unsigned"), rel
        if not signed:
            unsigned.append(f"{patient}/{Path(rel).stem}")
    assert unsigned
    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"{len(unsigned)} note" in page.split("<h2>Your record by date")[0]
    assert all(note in result.out for note in unsigned)


def test_record_text_on_the_index_is_escaped(store: Path, tmp_path: Path) -> None:
    path = store / "patients" / "p-0002" / "patient.yaml"
    path.write_text(path.read_text().replace("given: Helena", 'given: "Helena <b>&amp;"', 1))
    out = tmp_path / "release"
    assert export(store, "p-0002", str(out)).code == 0, "the edit keeps the chart valid"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Helena &lt;b&gt;&amp;amp;" in page and "<b>" not in page


def test_the_summary_names_no_one(demo_store: Path, tmp_path: Path) -> None:
    store = demo_store
    data = read_yaml(store / "patients" / "p-0002" / "patient.yaml")
    out = tmp_path / "release"
    text = export(store, "p-0002", str(out))
    as_json = export(store, "p-0002", str(tmp_path / "again"), "--format", "json")
    assert text.code == 0 and as_json.code == 0
    for result in (text, as_json):
        for secret in (data["name"]["given"], data["name"]["family"], data["contact"]["phone"]):
            assert secret not in result.out + result.err
    summary = as_json.json()
    released = files_under(tmp_path / "again")
    assert summary["files"] == len(released)
    assert summary["documents"] * len(FORMATS) == sum(r.startswith("documents/") for r in released)
    assert summary["sent"] == 0 and summary["patient"] == "p-0002"


# -- as an archive --------------------------------------------------------------------------


def test_the_zip_holds_the_same_files_and_is_byte_identical_across_runs(
    lettered_store: Path, tmp_path: Path, with_a_letter: Path
) -> None:
    store, folder = lettered_store, with_a_letter
    archives = []
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        result = export(store, "p-0003", str(tmp_path / run / "release"), "--zip")
        assert result.code == 0, result
        archives.append(tmp_path / run / "release.zip")
    assert archives[0].read_bytes() == archives[1].read_bytes()
    with zipfile.ZipFile(archives[0]) as archive:
        names = archive.namelist()
        assert all(name.startswith("release/") for name in names)
        inside = {name[len("release/") :]: archive.read(name) for name in names}
    assert inside == files_under(folder)


def test_zip_named_with_its_suffix_is_written_as_named(demo_store: Path, tmp_path: Path) -> None:
    store = demo_store
    outside = tmp_path / "outside"
    outside.mkdir()
    result = export(store, "p-0002", str(outside / "copy.zip"), "--zip")
    assert result.code == 0, result
    assert sorted(p.name for p in outside.iterdir()) == ["copy.zip"]
    with zipfile.ZipFile(outside / "copy.zip") as archive:
        assert "copy/index.html" in archive.namelist()


# -- refusals -------------------------------------------------------------------------------


def store_files(store: Path) -> dict[str, bytes]:
    return {rel: data for rel, data in files_under(store).items() if ".medmassage-cache" not in rel}


@pytest.mark.parametrize(
    "case",
    [
        "not-empty",
        "inside-store",
        "unknown-patient",
        "bad-id",
        "zip-exists",
        "zip-dots",
        "zip-here",
        "zip-backslash",
    ],
)
def test_refusals_exit_2_with_a_plain_message_and_write_nothing(
    demo_store: Path, tmp_path: Path, case: str
) -> None:
    store = demo_store
    before = store_files(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    patient, out, extra = "p-0002", outside / "release", []
    if case == "not-empty":
        out.mkdir()
        (out / "mine.txt").write_text("keep me\n")
    elif case == "inside-store":
        out = store / "release"
    elif case == "unknown-patient":
        patient = "p-9999"
    elif case == "bad-id":
        patient = "../p-0002"
    elif case == "zip-dots":  # its one folder would be "..": entries outside the archive's
        out, extra = outside / "...zip", ["--zip"]
    elif case == "zip-here":
        out, extra = Path("."), ["--zip"]
    elif case == "zip-backslash":  # a folder separator to unzip tools on Windows
        out, extra = outside / "..\\up.zip", ["--zip"]
    else:
        out, extra = outside / "release.zip", ["--zip"]
        out.write_bytes(b"an older archive")
    listing = sorted(p.name for p in outside.iterdir())
    result = export(store, patient, str(out), *extra, cwd=outside)
    assert result.code == 2, result
    assert result.err.startswith("medmassage: error:") and "Traceback" not in result.err
    assert sorted(p.name for p in outside.iterdir()) == listing
    assert store_files(store) == before
    if case == "not-empty":
        assert files_under(out) == {"mine.txt": b"keep me\n"}
    if case == "zip-exists":
        assert out.read_bytes() == b"an older archive"


def test_a_chart_with_errors_is_not_released(store: Path, tmp_path: Path) -> None:
    note = sorted((store / "patients" / "p-0003" / "sessions").glob("*.yaml"))[-1]
    note.write_text(note.read_text().replace("pain: ", "pain: 12 #", 1))
    out = tmp_path / "release"
    result = export(store, "p-0003", str(out))
    assert result.code == 1, result
    assert f"patients/p-0003/sessions/{note.name}:" in result.err
    assert "Traceback" not in result.err
    assert os.listdir(tmp_path) == ["store"]
    # Another patient's chart is judged on its own.
    assert export(store, "p-0002", str(out)).code == 0


def test_an_error_in_a_provider_the_chart_names_stops_it_and_one_elsewhere_does_not(
    store: Path, tmp_path: Path
) -> None:
    named = sorted(named_shared(store, "p-0002"))
    providers = sorted(p.relative_to(store).as_posix() for p in store.glob("providers/*.yaml"))
    other = next(rel for rel in providers if rel not in named)
    mine = next(rel for rel in named if rel.startswith("providers/"))
    for rel in (other, mine):
        with (store / rel).open("a", encoding="utf-8") as handle:
            handle.write("nickname: not a field of the schema\n")
    (tmp_path / "outside").mkdir()
    result = export(store, "p-0002", str(tmp_path / "outside" / "release"))
    assert result.code == 1, result
    assert f"{mine}:" in result.err and f"{other}:" not in result.err
    assert os.listdir(tmp_path / "outside") == []
    (store / mine).write_bytes((DEMO / mine).read_bytes())
    assert export(store, "p-0002", str(tmp_path / "outside" / "release")).code == 0


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    from medmassage.export.output import write_folder

    def files() -> Any:
        yield "documents/a.html", b"a"
        yield "records/b.yaml", b"b"
        raise OSError(28, "No space left on device")

    out = tmp_path / "release"
    with pytest.raises(Exception, match="nothing was written"):
        write_folder(out, files())
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.booleans())
def test_any_out_is_either_a_new_place_outside_the_store_or_a_usage_error(
    out: str, archive: bool
) -> None:
    from medmassage.errors import UsageError
    from medmassage.export.output import destination

    store = DEMO.resolve()
    try:
        found = destination(store, out, archive)
    except UsageError:
        return
    real = Path(os.path.realpath(found.path))
    assert not real.is_relative_to(store) and not found.path.exists()
    if archive:
        assert found.archive and found.path.name.endswith(".zip")
        assert found.top not in ("", ".", "..") and not {"/", "\\"} & set(found.top)
    else:
        assert found.path == Path(out)


def test_a_chart_with_warnings_only_is_released_and_the_summary_says_so(
    demo_store: Path, tmp_path: Path
) -> None:
    store = demo_store
    patient = first_patient_with_unsigned_note(store)
    later = (dt.date.fromisoformat(TODAY) + dt.timedelta(days=60)).isoformat()  # note now late

    def run(*args: str) -> Any:
        return run_here("--root", str(store), *args, "--today", later)

    checked = run("validate", "--format", "json").json()["problems"]
    mine = [p for p in checked if f"patients/{patient}/" in p["file"]]
    assert mine and all(p["severity"] == "warning" for p in mine)
    as_json = run("export", "chart", patient, str(tmp_path / "one"), "--format", "json")
    text = run("export", "chart", patient, str(tmp_path / "two"))
    assert as_json.code == text.code == 0, (as_json, text)
    assert as_json.json()["warnings"] == len(mine)
    warned = f"{len(mine)} warning{'s' if len(mine) != 1 else ''}"
    assert f"{warned} (medmassage validate lists them)" in text.out
    quiet = export(store, "p-0002", str(tmp_path / "three"))  # no warning: not a word of them
    assert quiet.code == 0 and "(medmassage validate" not in quiet.out
