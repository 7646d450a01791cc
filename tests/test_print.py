"""Print quality: every HTML document prints to PDF in headless Chromium (when installed),
with the letterhead on page 1 and no table row of the multi-page letter cut across pages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DEMO, run_here

from medmassage.documents import DOCUMENTS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PATIENT = "p-0003"
# A discharge summary exists only for a discharged episode.
DISCHARGED = "p-0002"
PRACTICE = "Riverbend Medical Massage"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def html_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.glob("*.html.j2") if "<style>" in p.read_text())


def test_every_html_template_carries_the_print_rules() -> None:
    css = (TEMPLATES / "style.css.j2").read_text()
    for rule in ("@page", "break-inside: avoid", "thead { display: table-header-group; }"):
        assert rule in css, rule
    assert "size: letter" not in css, "a forced paper size breaks A4 printing"
    found = html_templates()
    assert len(found) >= len(DOCUMENTS)
    for path in found:
        assert '{% include "style.css.j2" %}' in path.read_text(), path.name


def print_pdf(html: Path, pdf: Path, profile: Path) -> None:
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )


def page_texts(pdf: Path) -> list[str]:
    info = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    return [
        subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        for n in range(1, pages + 1)
    ]


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{3,}", text))


@pytest.fixture(scope="module")
def printable(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each document's last HTML file, rendered once (in-process) from a copy of the demo
    clinic for all the print tests: printing reads them, nothing changes them."""
    base = tmp_path_factory.mktemp("print")
    store, out = base / "store", base / "out"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    found = {}
    for document in DOCUMENTS:
        patient = DISCHARGED if document == "discharge-summary" else PATIENT
        result = run_here(
            "--root", str(store), "render", document, patient, "--format", "html", "--out", str(out)
        )  # fmt: skip
        htmls = sorted(Path(line) for line in result.out.splitlines() if line.endswith(".html"))
        assert htmls, (document, result)
        found[document] = htmls[-1]
        htmls[-1].chmod(0o444)  # shared by the tests below: read, never changed
    return found


def test_the_multi_page_letter_is_printed() -> None:
    """The page-break checks below need the physician update among the documents."""
    assert "physician-update" in DOCUMENTS


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium or chromium-browser executable")
@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_every_document_prints(printable: dict[str, Path], tmp_path: Path, document: str) -> None:
    poppler = shutil.which("pdfinfo") and shutil.which("pdftotext")
    html = printable[document]
    pdf = tmp_path / f"{document}.pdf"
    print_pdf(html, pdf, tmp_path / f"profile-{document}")
    data = pdf.read_bytes() if pdf.exists() else b""
    assert data.startswith(b"%PDF") and len(data) > 1000, document
    if not poppler:
        return
    pages = page_texts(pdf)
    assert PRACTICE in " ".join(pages[0].split()), f"{document}: no letterhead on page 1"
    if document != "physician-update":
        return
    assert len(pages) > 1, "the letter should be long enough to span pages"
    source = html.read_text(encoding="utf-8")
    goals = re.findall(r"<tr><td>(g\d+): ([^<]+)", source)
    assert goals, "no goal rows in the letter"
    for goal, description in goals:
        holding = [n for n, text in enumerate(pages) if f"{goal}:" in text]
        assert len(holding) == 1, f"{goal} on pages {holding}"
        missing = words(description) - words(pages[holding[0]])
        assert not missing, f"{goal} cut across pages: {sorted(missing)} not on its page"
