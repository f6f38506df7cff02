"""ProtocolLoader: sources and their order, layouts, aliases, caching, URL sources with
ETag revalidation and offline use, and hot reload."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ai_lib_python.errors import ConfigurationError, ProtocolError
from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
from ai_lib_python.protocol._loader import split_search_path

from ._paths import COMPLIANCE, OFFICIAL


def manifest_text(pid: str, name: str = "Acme", extra: str = "") -> str:
    return (
        f"id: {pid}\nprotocol_version: '1.5'\nname: {name}\n"
        f"endpoint:\n  base_url: https://{pid}.test/v1\n{extra}"
    )


def put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- local sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    ["acme.yaml", "acme.yml", "acme.json", "v1/providers/acme.yaml",
     "dist/v1/providers/acme.json", "v2/providers/acme.yaml"],
)
def test_every_layout_is_found(tmp_path: Path, rel: str) -> None:
    text = manifest_text("acme")
    if rel.endswith(".json"):
        text = ('{"id": "acme", "protocol_version": "1.5", "name": "Acme", '
                '"endpoint": {"base_url": "https://acme.test/v1"}}')
    put(tmp_path, rel, text)
    loader = ProtocolLoader([tmp_path], env={})
    manifest = loader.load_provider_sync("acme")
    assert manifest.name == "Acme" and manifest.source == str((tmp_path / rel).resolve())
    assert "acme" in loader.list_providers()


def test_flat_file_wins_over_repository_layouts(tmp_path: Path) -> None:
    put(tmp_path, "v1/providers/acme.yaml", manifest_text("acme", "From v1"))
    put(tmp_path, "v2/providers/acme.yaml", manifest_text("acme", "From v2"))
    assert ProtocolLoader([tmp_path], env={}).load_provider_sync("acme").name == "From v1"
    put(tmp_path, "acme.yaml", manifest_text("acme", "Flat"))
    assert ProtocolLoader([tmp_path], env={}).load_provider_sync("acme").name == "Flat"


def test_source_order_code_then_env_then_embedded(tmp_path: Path) -> None:
    code, env_a, env_b = tmp_path / "code", tmp_path / "a", tmp_path / "b"
    put(env_a, "openai.yaml", manifest_text("openai", "From env A"))
    put(env_b, "openai.yaml", manifest_text("openai", "From env B"))
    put(env_b, "only-b.yaml", manifest_text("only-b", "B"))
    env = {"AI_PROTOCOL_PATH": f"{env_a}{os.pathsep}{env_b}"}
    assert ProtocolLoader(env=env).load_provider_sync("openai").name == "From env A"
    assert ProtocolLoader(env=env).load_provider_sync("only-b").name == "B"
    put(code, "openai.yaml", manifest_text("openai", "From code"))
    assert ProtocolLoader([code], env=env).load_provider_sync("openai").name == "From code"
    embedded = ProtocolLoader(env={}).load_provider_sync("openai")
    assert embedded.source == "embedded:openai"


def test_explicit_file_path_and_registration(tmp_path: Path) -> None:
    path = put(tmp_path, "whatever-name.yaml", manifest_text("acme", "By path"))
    loader = ProtocolLoader([path], env={})
    assert loader.load_provider_sync("acme").name == "By path"
    registered = ProtocolLoader.from_dict(
        {"id": "acme", "protocol_version": "2.0", "aliases": ["acme-alt"],
         "endpoint": {"base_url": "https://x.test"}}, source="code")
    loader.register(registered)
    assert loader.load_provider_sync("acme") is registered
    assert loader.load_provider_sync("acme-alt") is registered


def test_aliases_declared_by_a_manifest(tmp_path: Path) -> None:
    put(tmp_path, "v2/providers/gemini.yaml", manifest_text("gemini", "Gemini",
                                                             "aliases: [google, bard]\n"))
    loader = ProtocolLoader([tmp_path], env={})
    for alias in ("google", "bard"):
        manifest = loader.load_provider_sync(alias)
        assert manifest.id == "gemini"
    assert loader.load_provider_sync("bard") is loader.load_provider_sync("gemini")


def test_gemini_and_google_are_one_identity(tmp_path: Path) -> None:
    put(tmp_path, "gemini.yaml", manifest_text("gemini", "Gemini without aliases"))
    manifest = ProtocolLoader([tmp_path], env={}).load_provider_sync("google")
    assert manifest.name == "Gemini without aliases"


def test_unknown_provider_names_the_id_and_the_closest_ones(tmp_path: Path) -> None:
    loader = ProtocolLoader([OFFICIAL], env={})
    with pytest.raises(ProtocolError) as info:
        loader.load_provider_sync("antropic")
    message = info.value.message
    assert "'antropic'" in message and "did you mean 'anthropic'" in message
    assert "AI_PROTOCOL_PATH" in message


def test_second_load_does_no_io(tmp_path: Path) -> None:
    path = put(tmp_path, "acme.yaml", manifest_text("acme"))
    loader = ProtocolLoader([tmp_path], env={})
    first = loader.load_provider_sync("acme")
    path.unlink()
    assert loader.load_provider_sync("acme") is first
    assert asyncio.run(loader.load_provider("acme")) is first


async def test_async_and_sync_loads_agree() -> None:
    loader = ProtocolLoader([COMPLIANCE], env={})
    a = await loader.load_provider("anthropic")
    assert loader.load_provider_sync("anthropic") is a


async def test_resolve_model_ids() -> None:
    loader = ProtocolLoader([OFFICIAL], env={})
    manifest, model = await loader.resolve("openrouter/anthropic/claude-3.5-sonnet")
    assert (manifest.id, model) == ("openrouter", "anthropic/claude-3.5-sonnet")
    assert loader.resolve_sync("openai/gpt-4o")[1] == "gpt-4o"
    for bad in ("gpt-4o", "openai/", "/gpt-4o"):
        with pytest.raises(ConfigurationError, match="provider/model"):
            await loader.resolve(bad)


def test_embedded_manifests_are_listed_and_load() -> None:
    loader = ProtocolLoader(env={})
    ids = loader.list_providers()
    assert {"openai", "anthropic", "gemini"} <= set(ids)
    for pid in ids:
        assert loader.load_provider_sync(pid).id == pid


def test_model_registry_files(tmp_path: Path) -> None:
    registry = ProtocolLoader(env={}).load_model_registry(OFFICIAL / "v1/models/gpt.yaml")
    entry = registry.models["gpt-4o"]
    assert (entry.provider, entry.model_id, entry.context_window) == ("openai", "gpt-4o", 128000)
    assert entry.pricing is not None and entry.pricing.input_per_token == 0.000005


def test_split_search_path_keeps_urls_whole() -> None:
    sep = os.pathsep
    assert split_search_path(f"/a{sep}{sep}/b ") == ["/a", "/b"]
    value = sep.join(["/a", "http://127.0.0.1:8080/base", "https://x.test/m", "/b"])
    assert split_search_path(value) == ["/a", "http://127.0.0.1:8080/base", "https://x.test/m",
                                        "/b"]


# -- URL sources -----------------------------------------------------------------------


@dataclass
class FakeServer:
    """A loopback HTTP server for a folder of manifests, with ETags."""

    files: dict[str, str]
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)
    url: str = ""
    httpd: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(files={})

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, etag: str | None = None, body: bytes = b"") -> None:
            state.requests.append((self.path, self.headers.get("If-None-Match"), status))
            self.send_response(status)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            body = state.files.get(self.path.removeprefix("/base/"))
            if body is None:
                self.reply(404)
                return
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.reply(304, etag)
            else:
                self.reply(200, etag, body.encode())

        def log_message(self, *args: object) -> None:
            pass

    state.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{state.httpd.server_address[1]}/base"
    threading.Thread(target=state.httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield state
    finally:
        state.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_url_source_fetches_and_revalidates_with_etag(
    server: FakeServer, tmp_path: Path
) -> None:
    server.files["v2/providers/acme.yaml"] = manifest_text("acme", "Remote")
    cache = tmp_path / "cache"
    first = await ProtocolLoader(base_url=server.url, cache_dir=cache, env={}).load_provider(
        "acme")
    assert first.name == "Remote" and first.source == f"{server.url}/v2/providers/acme.yaml"
    assert server.requests == [
        ("/base/v1/providers/acme.yaml", None, 404),
        ("/base/dist/v1/providers/acme.json", None, 404),
        ("/base/v2/providers/acme.yaml", None, 200),
    ]

    server.requests.clear()
    again = ProtocolLoader(base_url=server.url, cache_dir=cache, env={}).load_provider_sync("acme")
    assert again.name == "Remote"
    path, etag, status = server.requests[-1]
    assert (path, status) == ("/base/v2/providers/acme.yaml", 304) and etag

    server.files["v2/providers/acme.yaml"] = manifest_text("acme", "Changed")
    changed = await ProtocolLoader(base_url=server.url, cache_dir=cache, env={}).load_provider(
        "acme")
    assert changed.name == "Changed" and server.requests[-1][2] == 200


async def test_url_source_is_used_from_the_cache_when_offline(
    server: FakeServer, tmp_path: Path
) -> None:
    server.files["acme.yaml"] = manifest_text("acme", "Cached")
    cache = tmp_path / "cache"
    env = {"AI_PROTOCOL_PATH": server.url}
    assert (await ProtocolLoader(cache_dir=cache, env=env).load_provider("acme")).name == "Cached"
    server.stop()
    manifest = await ProtocolLoader(cache_dir=cache, env=env).load_provider("acme")
    assert manifest.name == "Cached"
    assert any("unreachable" in w for w in manifest.warnings)
    assert ProtocolLoader(cache_dir=cache, env=env).load_provider_sync("acme").name == "Cached"


async def test_unreachable_url_without_cache_fails_clearly(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/manifests"
    loader = ProtocolLoader(base_url=dead, cache_dir=tmp_path, timeout=2.0, env={})
    start = time.monotonic()
    with pytest.raises(ProtocolError) as info:
        await loader.load_provider("acme")
    assert time.monotonic() - start < 2.0
    assert "cannot reach the manifest server" in info.value.message
    assert "'acme'" in info.value.message and info.value.source == dead + "/"
    with pytest.raises(ProtocolError, match="cannot reach"):
        loader.load_provider_sync("acme")


async def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing back, never answer

    srv = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    loader = ProtocolLoader(base_url=f"http://127.0.0.1:{port}/", cache_dir=tmp_path,
                            timeout=0.3, env={})
    start = time.monotonic()
    try:
        with pytest.raises(ProtocolError, match="cannot reach the manifest server"):
            await loader.load_provider("acme")
    finally:
        for w in held:
            w.close()
        srv.close()
        await srv.wait_closed()
    assert time.monotonic() - start < 3.0


def test_url_source_404_everywhere_falls_through(server: FakeServer, tmp_path: Path) -> None:
    server.files["other.yaml"] = manifest_text("other")
    loader = ProtocolLoader(base_url=server.url, cache_dir=tmp_path, env={})
    assert loader.load_provider_sync("openai").source == "embedded:openai"
    with pytest.raises(ProtocolError, match="unknown provider 'nobody'"):
        loader.load_provider_sync("nobody")


def test_server_error_without_cache_is_reported(tmp_path: Path) -> None:
    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        loader = ProtocolLoader(base_url=f"http://127.0.0.1:{httpd.server_address[1]}",
                                cache_dir=tmp_path, env={})
        with pytest.raises(ProtocolError, match="HTTP 503"):
            loader.load_provider_sync("acme")
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- hot reload --------------------------------------------------------------------------


async def test_hot_reload_swaps_the_manifest_for_new_loads(tmp_path: Path) -> None:
    path = put(tmp_path, "acme.yaml", manifest_text("acme", "Before"))
    loop = asyncio.get_running_loop()
    swapped = asyncio.Event()
    seen: list[ProtocolManifest] = []

    def on_reload(manifest: ProtocolManifest) -> None:
        seen.append(manifest)
        loop.call_soon_threadsafe(swapped.set)

    with ProtocolLoader([tmp_path], env={}, watch=True) as loader:
        loader.add_reload_listener(on_reload)
        old = await loader.load_provider("acme")
        tmp = tmp_path / "acme.yaml.tmp"
        tmp.write_text(manifest_text("acme", "After"), encoding="utf-8")
        tmp.replace(path)  # editors save by rename: the watcher must see it
        await asyncio.wait_for(swapped.wait(), timeout=10)
        new = await loader.load_provider("acme")
    assert old.name == "Before"  # a caller holding the old manifest keeps it
    assert new.name == "After" and [m.name for m in seen] == ["After"]


def test_a_broken_edit_keeps_the_previous_manifest(tmp_path: Path) -> None:
    path = put(tmp_path, "acme.yaml", manifest_text("acme", "Good"))
    loader = ProtocolLoader([tmp_path], env={})
    good = loader.load_provider_sync("acme")
    path.write_text("id: acme\nprotocol_version: [\n", encoding="utf-8")
    assert loader.reload(path) is None
    assert loader.load_provider_sync("acme") is good
    path.write_text(manifest_text("acme", "Fixed"), encoding="utf-8")
    fixed = loader.reload(path)
    assert fixed is not None and loader.load_provider_sync("acme") is fixed
    assert loader.reload(tmp_path / "unrelated.yaml") is None


def test_a_missing_search_folder_is_named_in_the_not_found_error(tmp_path: Path) -> None:
    loader = ProtocolLoader(env={"AI_PROTOCOL_PATH": str(tmp_path / "nope")})
    with pytest.raises(ProtocolError, match="no such folder"):
        loader.load_provider_sync("acme")


def test_load_file_rereads_a_changed_file(tmp_path: Path) -> None:
    path = put(tmp_path, "acme.yaml", manifest_text("acme", "One"))
    loader = ProtocolLoader(env={})
    one = loader.load_file(path)
    assert loader.load_file(path) is one
    path.write_text(manifest_text("acme", "Two"), encoding="utf-8")
    assert loader.load_file(path).name == "Two"
