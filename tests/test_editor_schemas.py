"""The editor line works: a store holds every kind's self-contained schema in schemas/
(written by `init`, refreshed by `schema --write`, watched by `validate`), the README's
`# yaml-language-server: $schema=...` line and `yaml.schemas` mapping point at them, and
the real yaml-language-server loads them and flags a bad value."""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from charts import invoke, write_store
from conftest import DEMO, PROJECT, TODAY, run_cli
from node_tools import node, node_modules

from medmassage import kinds
from medmassage import schema_loader as schemas
from medmassage.store import Store

README = (PROJECT / "README.md").read_text(encoding="utf-8")
STALE = "layout/stale-schema"


def printed(root: Path, kind: str) -> bytes:
    """What `medmassage schema KIND` prints inside the store at `root`."""
    result = invoke("--root", str(root), "schema", kind)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes  # type: ignore[no-any-return]


def report(root: Path, *paths: str, cache: bool = True) -> list[dict[str, Any]]:
    """The problems `validate --format json` reports (with the store's caches by default)."""
    args = ["--root", str(root), "validate", "--format", "json", "--today", TODAY, "-j", "1"]
    chosen = [str(root / path) for path in paths]
    result = invoke(*args, *([] if cache else ["--no-cache"]), *chosen)
    assert result.exit_code in (0, 1), result.stderr
    return list(json.loads(result.stdout)["problems"])


def stale(root: Path, *paths: str, cache: bool = True) -> dict[str, str]:
    """file -> message of every stale-schema warning."""
    return {
        p["file"]: p["message"] for p in report(root, *paths, cache=cache) if p["rule"] == STALE
    }


def local_refs_only(schema: Any) -> bool:
    """Every $ref points inside the file (no urn: an editor could not load)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        return (ref is None or ref.startswith("#/")) and all(map(local_refs_only, schema.values()))
    if isinstance(schema, list):
        return all(map(local_refs_only, schema))
    return True


def test_init_writes_what_schema_prints(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    result = run_cli("init", str(root), "--no-input", "--name", "Quillfeather Massage", input="")
    assert result.code == 0, result
    written = sorted(path.name for path in (root / schemas.EDITOR_FOLDER).iterdir())
    assert written == sorted(f"{kind}.schema.json" for kind in kinds.names())
    for kind in kinds.names():
        data = (root / schemas.EDITOR_FOLDER / f"{kind}.schema.json").read_bytes()
        assert data == printed(root, kind)
        assert local_refs_only(json.loads(data)), kind
    assert stale(root) == {}


def test_the_demo_store_carries_current_editor_schemas() -> None:
    for kind in kinds.names():
        assert (DEMO / "schemas" / f"{kind}.schema.json").read_bytes() == printed(DEMO, kind)


def test_a_new_vocabulary_term_is_stale_until_written(store: Path) -> None:
    assert stale(store) == {}
    old = schemas.extensions_from(Store(store).load_settings())
    settings = store / "medmassage.yaml"
    settings.write_text(settings.read_text() + "vocabulary:\n  technique: [gua_sha]\n")
    new = schemas.extensions_from(Store(store).load_settings())
    assert new != old
    changed = {
        f"schemas/{kind}.schema.json"
        for kind in kinds.names()
        if schemas.schema_text(kind, new) != schemas.schema_text(kind, old)
    }
    assert changed and len(changed) < len(kinds.names())
    assert set(stale(store)) == changed
    assert set(stale(store)) == changed, "the warm run (cached) warns too"
    assert set(stale(store, "medmassage.yaml")) == changed, "a commit of the settings is warned"
    assert stale(store, "patients") == {}, "a chart's check is not about the editor files"

    result = invoke("--root", str(store), "schema", "--write")
    assert result.exit_code == 0, result.stderr
    assert {line.removeprefix("wrote ") for line in result.stdout.splitlines()} == changed
    assert stale(store) == {} and stale(store, cache=False) == {}
    again = invoke("--root", str(store), "schema", "--write")
    assert again.exit_code == 0 and "wrote" not in again.stdout
    assert b"gua_sha" in (store / "schemas" / "session.schema.json").read_bytes()


def test_a_missing_or_edited_schema_is_stale(store: Path) -> None:
    assert stale(store) == {}
    (store / "schemas" / "plan.schema.json").unlink()
    edited = store / "schemas" / "session.schema.json"
    edited.write_text(edited.read_text().replace('"integer"', '"string"', 1))
    for cache in (True, True, False):
        found = stale(store, cache=cache)
        assert set(found) == {"schemas/plan.schema.json", "schemas/session.schema.json"}
        assert "missing" in found["schemas/plan.schema.json"]
        assert "schema --write" in found["schemas/session.schema.json"]


def test_a_store_without_editor_schemas_is_not_warned(tmp_path: Path) -> None:
    root = write_store(tmp_path / "store")
    assert not (root / "schemas").exists()
    assert stale(root) == {}


def test_write_refuses_a_link_in_place_of_the_folder(tmp_path: Path) -> None:
    root = write_store(tmp_path / "store")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "schemas").symlink_to(outside)
    result = invoke("--root", str(root), "schema", "--write")
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "schemas" in result.stderr
    assert list(outside.iterdir()) == []


def test_schema_needs_a_kind_or_write() -> None:
    for args in ([], ["session", "--write"]):
        result = invoke("schema", *args)
        assert result.exit_code == 2 and "KIND" in result.stderr, result.stderr


def readme_modeline() -> tuple[Path, str]:
    """The README's example session file and the schema its editor line names."""
    example = re.search(r"\(`(records/patients/[^`]+/sessions/[^`]+\.yaml)`\)", README)
    line = re.search(r"# yaml-language-server: \$schema=(\S+)", README)
    assert example and line
    return PROJECT / example.group(1), line.group(1)


def test_the_readme_editor_line_resolves_to_the_stores_session_schema() -> None:
    session, target = readme_modeline()
    assert session.is_file()
    resolved = (session.parent / target).resolve()
    assert resolved == (DEMO / "schemas" / "session.schema.json").resolve()
    assert resolved.read_bytes() == printed(DEMO, "session")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A `yaml.schemas` glob: `*` within one folder name."""
    return re.compile("".join("[^/]*" if c == "*" else re.escape(c) for c in pattern))


def test_the_readme_editor_mapping_covers_each_kind_exactly() -> None:
    block = next(b for b in re.findall(r"```json\n(.*?)```", README, re.S) if "yaml.schemas" in b)
    mapping: dict[str, str] = json.loads(block)["yaml.schemas"]
    for entry in Store(DEMO).walk():
        if entry.kind is None:
            continue
        matching = [s for s, glob in mapping.items() if glob_regex(glob).fullmatch(entry.rel)]
        assert matching == [f"schemas/{entry.kind}.schema.json"], entry.rel
    assert all((DEMO / name).is_file() for name in mapping)
    assert len(mapping) == len(kinds.names())


class Lsp:
    """Just enough of a Language Server Protocol client to open a file and read the
    diagnostics the server publishes."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = 0
            while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not length:
                return
            self.messages.put(json.loads(self.proc.stdout.read(length)))

    def send(self, **message: Any) -> None:
        assert self.proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def wait_for(self, wanted: Any, settings: dict[str, Any]) -> dict[str, Any]:
        """The first message `wanted` accepts, answering the server's requests meanwhile."""
        while True:
            message = self.messages.get(timeout=60)
            if wanted(message):
                return message
            if message.get("method") == "workspace/configuration":
                items = message["params"]["items"]
                self.send(id=message["id"], result=[settings] * len(items))
            elif "id" in message and "method" in message:
                self.send(id=message["id"], result=None)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def published_for(uri: str) -> Any:
    """Whether a message is the diagnostics the server publishes for `uri`."""
    return lambda m: (
        m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
    )


def diagnostics(server: Path, *paths: Path) -> list[list[dict[str, Any]]]:
    """What yaml-language-server reports on opening each of `paths`, one server for all."""
    settings = {"validate": True, "hover": True, "completion": True}
    settings["schemaStore"] = {"enable": False}  # offline: only the file's own schema
    client = Lsp([node(), str(server), "--stdio"])
    try:
        client.send(
            id=1,
            method="initialize",
            params={
                "processId": None,
                "rootUri": paths[0].parent.as_uri(),
                "capabilities": {"workspace": {"configuration": True}},
            },
        )
        client.wait_for(lambda m: m.get("id") == 1, settings)
        client.send(method="initialized", params={})
        client.send(
            method="workspace/didChangeConfiguration", params={"settings": {"yaml": settings}}
        )
        found = []
        for path in paths:
            document = {"uri": path.as_uri(), "languageId": "yaml", "version": 1}
            client.send(
                method="textDocument/didOpen",
                params={"textDocument": {**document, "text": path.read_text(encoding="utf-8")}},
            )
            published = client.wait_for(published_for(document["uri"]), settings)
            found.append(list(published["params"]["diagnostics"]))
        return found
    finally:
        client.close()


def test_yaml_language_server_reads_the_readme_line(store: Path) -> None:
    """The real editor server, driven over stdio: with the README's first line, a demo
    session is clean and the same session with a bad value gets an error on its line."""
    modules = node_modules("yaml-language-server")
    server = modules / "yaml-language-server" / "bin" / "yaml-language-server"
    readme_session, target = readme_modeline()
    session = store / readme_session.relative_to(DEMO)
    text = f"# yaml-language-server: $schema={target}\n" + session.read_text(encoding="utf-8")
    session.write_text(text, encoding="utf-8")
    lines = text.splitlines(keepends=True)
    bad = next(n for n, line in enumerate(lines) if line.startswith("duration_minutes:"))
    lines[bad] = "duration_minutes: sixty\n"
    broken = session.with_name(f"{session.stem}-broken.yaml")  # beside it: same $schema path
    broken.write_text("".join(lines), encoding="utf-8")
    clean, found = diagnostics(server, session, broken)  # one server start for both
    assert clean == []
    assert [d["range"]["start"]["line"] for d in found] == [bad], found
    assert found[0].get("severity") == 1  # an error


def test_no_stale_warning_for_a_healthy_demo_copy(store: Path) -> None:
    found = report(store, cache=False)
    assert not [p for p in found if p["file"].startswith("schemas/")]
    shutil.rmtree(store / "schemas")
    assert not [p for p in report(store) if p["file"].startswith("schemas/")]
