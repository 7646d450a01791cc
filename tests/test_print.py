"""Print quality: every HTML document prints to PDF in headless Chromium (when installed),
with the letterhead on page 1 and no table row of the multi-page letter cut across pages."""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


class Chromium:
    """One headless Chromium for the module's prints, driven over its DevTools pipe (fds 3 and 4,
    NUL-separated JSON): the browser starts once, and each document is loaded in its tab and
    printed through the same print path as `--print-to-pdf` (no header or footer)."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
        ]
        # The pipe's ends become the browser's fds 3 (commands in) and 4 (replies out).
        shell = 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'
        self.proc = subprocess.Popen(
            ["sh", "-c", shell, "sh", CHROMIUM, *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.pending = b""
        self.last_id = 0
        self.events: list[dict[str, Any]] = []  # arrived while waiting for a reply
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.tab = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Page.enable", session=self.tab)
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, self.tab)

    def receive(self, deadline: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\0" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError(f"Chromium exited ({self.proc.poll()})")
            self.pending += chunk
        message, self.pending = self.pending.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        assert self.proc.stdin is not None
        self.last_id += 1
        command = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        self.proc.stdin.write(json.dumps(command).encode() + b"\0")
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60
        while (message := self.receive(deadline)).get("id") != self.last_id:
            self.events.append(message)
        assert "error" not in message, (method, message)
        return message["result"]

    def print_pdf(self, html: Path) -> bytes:
        """Load the file in the tab, wait for that load's `load` event, print it."""
        self.events.clear()
        loader = self.call("Page.navigate", {"url": html.as_uri()}, self.tab)["loaderId"]
        deadline = time.monotonic() + 60
        while not any(
            event.get("method") == "Page.lifecycleEvent"
            and event["params"]["name"] == "load"
            and event["params"]["loaderId"] == loader
            for event in self.events
        ):
            self.events.append(self.receive(deadline))
        pdf = self.call("Page.printToPDF", {"displayHeaderFooter": False}, self.tab)["data"]
        return base64.b64decode(pdf)

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=30)
        except (OSError, EOFError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (pdftotext ends every page with a form feed)."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return text.split("\f")[:-1]


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
def test_every_document_prints(
    printable: dict[str, Path], chromium: Chromium, tmp_path: Path, document: str
) -> None:
    poppler = shutil.which("pdftotext")
    html = printable[document]
    pdf = tmp_path / f"{document}.pdf"
    data = chromium.print_pdf(html)
    assert data.startswith(b"%PDF") and len(data) > 1000, document
    pdf.write_bytes(data)
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
