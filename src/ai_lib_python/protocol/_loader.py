"""Find, read, validate and cache provider manifests; resolve ``provider/model`` ids.

Sources, first match wins:

1. manifests registered in code and the ``paths`` given to :class:`ProtocolLoader`
   (files or directories), then its ``base_url``;
2. ``AI_PROTOCOL_PATH``: one or more directories (``os.pathsep``-separated) or an
   ``http(s)`` base URL (cached on disk, revalidated with ETag, used offline);
3. the manifests embedded in the package (``ai_lib_python/manifests/<id>.yaml``).

Inside a directory or URL the layouts tried are, in order: ``<id>.yaml``,
``<id>.yml``, ``<id>.json``, ``v1/providers/<id>.yaml``, ``dist/v1/providers/<id>.json``,
``v2/providers/<id>.yaml``. A provider not found under its id is looked up by alias
(v2 ``aliases``, and gemini <-> google).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from ai_lib_python.errors import ConfigurationError, ProtocolError
from ai_lib_python.protocol._cache import UrlCache
from ai_lib_python.protocol._models import ModelRegistry, ProtocolManifest
from ai_lib_python.protocol._validator import (
    build_manifest,
    build_model_registry,
    parse_document,
)

log = logging.getLogger("ai_lib_python.protocol")

ENV_VAR: Final = "AI_PROTOCOL_PATH"
_EMBEDDED_PACKAGE: Final = "ai_lib_python.manifests"
_LAYOUTS: Final = (
    "{id}.yaml",
    "{id}.yml",
    "{id}.json",
    "v1/providers/{id}.yaml",
    "dist/v1/providers/{id}.json",
    "v2/providers/{id}.yaml",
)
_URL_LAYOUTS: Final = (
    "v1/providers/{id}.yaml",
    "dist/v1/providers/{id}.json",
    "v2/providers/{id}.yaml",
    "{id}.yaml",
    "{id}.json",
)
# Canonical provider identities that go by more than one id (provider-identity map).
_IDENTITIES: Final = (frozenset({"gemini", "google"}),)
_ID_IN_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


@dataclass(frozen=True, slots=True)
class _Doc:
    key: str
    """Cache key: resolved file path, URL or ``embedded:<id>``."""
    text: str
    path: Path | None = None
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    text: str
    etag: str | None


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------


class _DirSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._aliases: dict[str, str] | None = None

    def __repr__(self) -> str:
        return str(self.root) if self.root.is_dir() else f"{self.root} (no such folder)"

    def find(self, provider_id: str) -> _Doc | None:
        for layout in _LAYOUTS:
            path = self.root / layout.format(id=provider_id)
            if path.is_file():
                return _read_doc(path)
        return None

    def ids(self) -> set[str]:
        out: set[str] = set()
        for layout in _LAYOUTS:
            folder = (self.root / layout.format(id="x")).parent
            suffix = layout.rsplit(".", 1)[1]
            if folder.is_dir():
                out.update(
                    p.stem for p in folder.glob(f"*.{suffix}") if _ID_IN_NAME.match(p.stem)
                )
        return out

    def aliases(self) -> dict[str, str]:
        if self._aliases is None:
            found: dict[str, str] = {}
            for pid in sorted(self.ids()):
                doc = self.find(pid)
                if doc is None or "aliases" not in doc.text:
                    continue
                try:
                    data = parse_document(doc.text, doc.key)
                except ProtocolError:
                    continue
                if isinstance(data, Mapping) and isinstance(data.get("aliases"), list):
                    for alias in data["aliases"]:
                        found.setdefault(str(alias), str(data.get("id", pid)))
            self._aliases = found
        return self._aliases


class _FileSource:
    """A manifest file named in code: found under the id it declares."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._id: str | None = None

    def __repr__(self) -> str:
        return str(self.path)

    def declared_id(self) -> str | None:
        if self._id is None:
            doc = _read_doc(self.path)
            data = parse_document(doc.text, doc.key)
            self._id = str(data.get("id")) if isinstance(data, Mapping) else ""
        return self._id or None

    def find(self, provider_id: str) -> _Doc | None:
        return _read_doc(self.path) if self.declared_id() == provider_id else None

    def ids(self) -> set[str]:
        pid = self.declared_id()
        return {pid} if pid else set()

    def aliases(self) -> dict[str, str]:
        return {}


class _EmbeddedSource:
    def __repr__(self) -> str:
        return "embedded manifests"

    @staticmethod
    def _root() -> Any:
        try:
            return resources.files(_EMBEDDED_PACKAGE)
        except ModuleNotFoundError:
            return None

    def find(self, provider_id: str) -> _Doc | None:
        root = self._root()
        if root is None:
            return None
        for suffix in (".yaml", ".json"):
            ref = root.joinpath(provider_id + suffix)
            if ref.is_file():
                return _Doc(key=f"embedded:{provider_id}", text=ref.read_text(encoding="utf-8"))
        return None

    def ids(self) -> set[str]:
        root = self._root()
        if root is None:
            return set()
        out: set[str] = set()
        for entry in root.iterdir():
            name = entry.name
            for suffix in (".yaml", ".json"):
                if name.endswith(suffix) and _ID_IN_NAME.match(name[: -len(suffix)]):
                    out.add(name[: -len(suffix)])
        return out

    def aliases(self) -> dict[str, str]:
        return {}


class _UrlSource:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/"

    def __repr__(self) -> str:
        return self.base

    def urls(self, provider_id: str) -> list[str]:
        return [self.base + layout.format(id=provider_id) for layout in _URL_LAYOUTS]


_LocalSource = _DirSource | _FileSource | _EmbeddedSource
_Source = _LocalSource | _UrlSource


def _read_doc(path: Path) -> _Doc:
    resolved = path.resolve()
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError("manifest file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read manifest: {exc}", source=str(path)) from None
    return _Doc(key=str(resolved), text=text, path=resolved)


def split_search_path(value: str) -> list[str]:
    """Split ``AI_PROTOCOL_PATH`` on ``os.pathsep``, keeping ``http://host:port/x`` whole."""
    parts = [p for p in value.split(os.pathsep)]
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part in ("http", "https") and i + 1 < len(parts) and parts[i + 1].startswith("//"):
            url = f"{part}:{parts[i + 1]}"
            i += 2
            while i < len(parts) and parts[i][:1].isdigit():  # a port
                url += ":" + parts[i]
                i += 1
            out.append(url)
            continue
        if part.strip():
            out.append(part.strip())
        i += 1
    return out


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


# ---------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------


class ProtocolLoader:
    """Loads and caches provider manifests. Thread-safe for concurrent loads.

    ``paths`` (files or directories) and ``base_url`` come first, then
    ``AI_PROTOCOL_PATH``, then the embedded manifests. ``watch=True`` re-parses an
    edited manifest file and swaps it in the cache (``watchdog`` required).
    """

    def __init__(
        self,
        paths: Sequence[str | Path] | None = None,
        *,
        base_url: str | None = None,
        cache_dir: Path | None = None,
        timeout: float = 10.0,
        watch: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        self._timeout = timeout
        self._url_cache = UrlCache(cache_dir)
        self._registered: dict[str, ProtocolManifest] = {}
        sources: list[_Source] = []
        for entry in paths or ():
            text = str(entry)
            if _is_url(text):
                sources.append(_UrlSource(text))
            else:
                p = Path(entry).expanduser()
                sources.append(_FileSource(p) if p.suffix in (".yaml", ".yml", ".json")
                               else _DirSource(p))
        if base_url:
            sources.append(_UrlSource(base_url))
        for entry in split_search_path(environ.get(ENV_VAR, "")):
            if _is_url(entry):
                sources.append(_UrlSource(entry))
            else:
                folder = Path(entry).expanduser()
                if not folder.is_dir():
                    log.warning("%s entry %s is not a folder; ignoring it", ENV_VAR, folder)
                sources.append(_DirSource(folder))
        sources.append(_EmbeddedSource())
        self._sources: tuple[_Source, ...] = tuple(sources)
        self._manifests: dict[str, ProtocolManifest] = {}
        self._texts: dict[str, str] = {}
        self._by_id: dict[str, str] = {}
        self._lock = threading.RLock()
        self._watch = watch
        self._watcher: Any = None
        self._listeners: list[Callable[[ProtocolManifest], None]] = []

    def __repr__(self) -> str:
        return f"ProtocolLoader(sources={list(self._sources)!r})"

    # -- explicit input ----------------------------------------------------

    @staticmethod
    def from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> ProtocolManifest:
        """Validate a manifest given as data (no caching, no registration)."""
        return build_manifest(dict(data), source=source)

    def register(self, manifest: ProtocolManifest) -> None:
        """Make ``manifest`` the one returned for its id (and aliases), before any source."""
        with self._lock:
            for pid in (manifest.id, *manifest.aliases):
                self._registered[pid] = manifest

    def load_file(self, path: str | Path) -> ProtocolManifest:
        """Read one manifest file (cached by path; watched when ``watch=True``)."""
        return self._accept(_read_doc(Path(path)))

    def load_model_registry(self, path: str | Path) -> ModelRegistry:
        """Read a v1 model registry file (``v1/models/*.yaml``)."""
        doc = _read_doc(Path(path))
        data = parse_document(doc.text, doc.key)
        return build_model_registry(data, source=doc.key, text=doc.text)

    # -- by id -------------------------------------------------------------

    def load_provider_sync(self, provider_id: str) -> ProtocolManifest:
        """Load a provider's manifest (blocking; for startup code and the CLI)."""
        hit = self._cached(provider_id)
        if hit is not None:
            return hit
        for pid in self._lookup_ids(provider_id):
            for source in self._sources:
                doc = (
                    self._drive_sync(source, pid)
                    if isinstance(source, _UrlSource)
                    else source.find(pid)
                )
                if doc is not None:
                    return self._remember(provider_id, self._accept(doc))
        raise self._unknown(provider_id)

    async def load_provider(self, provider_id: str) -> ProtocolManifest:
        """Load a provider's manifest; a second call for the same id does no I/O."""
        hit = self._cached(provider_id)
        if hit is not None:
            return hit
        for pid in self._lookup_ids(provider_id):
            for source in self._sources:
                doc = (
                    await self._drive_async(source, pid)
                    if isinstance(source, _UrlSource)
                    else source.find(pid)
                )
                if doc is not None:
                    return self._remember(provider_id, self._accept(doc))
        raise self._unknown(provider_id)

    async def resolve(self, model_id: str) -> tuple[ProtocolManifest, str]:
        """``"openai/gpt-4o"`` -> (openai manifest, ``"gpt-4o"``); the model may contain '/'."""
        provider_id, model = _split_model_id(model_id)
        return await self.load_provider(provider_id), model

    def resolve_sync(self, model_id: str) -> tuple[ProtocolManifest, str]:
        provider_id, model = _split_model_id(model_id)
        return self.load_provider_sync(provider_id), model

    def list_providers(self) -> list[str]:
        """Provider ids available from registered manifests, files, folders and the package."""
        out: set[str] = set(self._registered)
        for source in self._sources:
            if not isinstance(source, _UrlSource):
                try:
                    out.update(source.ids())
                except (OSError, ProtocolError):
                    continue
        return sorted(out)

    # -- hot reload --------------------------------------------------------

    def add_reload_listener(self, callback: Callable[[ProtocolManifest], None]) -> None:
        """Call ``callback(new_manifest)`` (from the watcher thread) after each swap."""
        self._listeners.append(callback)

    def reload(self, path: str | Path) -> ProtocolManifest | None:
        """Re-parse a cached manifest file and swap it in (listeners are told only when
        the text changed); ``None`` if the file is not cached or the edit does not
        validate (the old manifest stays, the error is logged)."""
        key = str(Path(path).resolve())
        if key not in self._manifests:
            return None
        try:
            doc = _read_doc(Path(key))
            if self._texts.get(key) == doc.text:  # editors report one save several times
                return self._manifests[key]
            fresh = self._parse(doc)
        except ProtocolError as exc:
            log.warning("manifest edit not applied, keeping the previous version: %s", exc)
            return None
        with self._lock:
            self._manifests[key] = fresh
            self._texts[key] = doc.text
        for callback in list(self._listeners):
            callback(fresh)
        return fresh

    def _on_file_changed(self, path: Path) -> None:
        self.reload(path)

    def close(self) -> None:
        """Stop the file watcher, if any."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()

    def __enter__(self) -> ProtocolLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------

    def _cached(self, provider_id: str) -> ProtocolManifest | None:
        registered = self._registered.get(provider_id)
        if registered is not None:
            return registered
        key = self._by_id.get(provider_id)
        return self._manifests.get(key) if key is not None else None

    def _remember(self, provider_id: str, manifest: ProtocolManifest) -> ProtocolManifest:
        key = manifest.source or ""
        with self._lock:
            self._by_id[provider_id] = key
        return self._manifests.get(key, manifest)

    def _parse(self, doc: _Doc) -> ProtocolManifest:
        data = parse_document(doc.text, doc.key)
        manifest = build_manifest(data, source=doc.key, text=doc.text)
        if doc.notice:
            manifest._notices.append(doc.notice)
        return manifest

    def _accept(self, doc: _Doc) -> ProtocolManifest:
        with self._lock:
            cached = self._manifests.get(doc.key)
            if cached is not None and self._texts.get(doc.key) == doc.text:
                return cached
        manifest = self._parse(doc)
        with self._lock:
            self._manifests[doc.key] = manifest
            self._texts[doc.key] = doc.text
        if self._watch and doc.path is not None:
            self._watch_file(doc.path)
        return manifest

    def _watch_file(self, path: Path) -> None:
        with self._lock:
            if self._watcher is None:
                from ai_lib_python.protocol._reload import ManifestWatcher

                self._watcher = ManifestWatcher(self._on_file_changed)
            self._watcher.watch(path)

    def _lookup_ids(self, provider_id: str) -> Iterable[str]:
        """The id itself, then the ids it is an alias of."""
        yield provider_id
        seen = {provider_id}
        for source in self._sources:
            if isinstance(source, _UrlSource):
                continue
            try:
                target = source.aliases().get(provider_id)
            except OSError:
                continue
            if target and target not in seen:
                seen.add(target)
                yield target
        for group in _IDENTITIES:
            if provider_id in group:
                for other in sorted(group - seen):
                    seen.add(other)
                    yield other

    def _unknown(self, provider_id: str) -> ProtocolError:
        known = self.list_providers()
        close = difflib.get_close_matches(provider_id, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        where = ", ".join(repr(s) for s in self._sources)
        return ProtocolError(
            f"unknown provider {provider_id!r}{hint} (searched: {where}; set {ENV_VAR} to a "
            "folder or URL of manifests, or pass the manifest path in code)"
        )

    # URL fetching: one sans-I/O plan, driven by a sync or an async HTTP client.

    def _fetch_plan(
        self, source: _UrlSource, provider_id: str
    ) -> Generator[tuple[str, dict[str, str]], _Response | Exception, _Doc | None]:
        for url in source.urls(provider_id):
            cached = self._url_cache.get(url)
            headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
            outcome = yield url, headers
            if isinstance(outcome, Exception):
                return self._offline(source, provider_id, outcome)
            if outcome.status == 304 and cached is not None:
                return _Doc(key=url, text=cached.text)
            if outcome.status == 200:
                self._url_cache.put(url, outcome.text, outcome.etag)
                return _Doc(key=url, text=outcome.text)
            if outcome.status in (404, 410):
                continue
            if cached is not None:
                return _Doc(
                    key=url,
                    text=cached.text,
                    notice=f"served from the local cache: {url} answered HTTP {outcome.status}",
                )
            raise ProtocolError(
                f"HTTP {outcome.status} while fetching the manifest of {provider_id!r}",
                source=url,
            )
        return None

    def _offline(self, source: _UrlSource, provider_id: str, exc: Exception) -> _Doc:
        for url in source.urls(provider_id):
            cached = self._url_cache.get(url)
            if cached is not None:
                log.warning("%s unreachable (%s); using the cached manifest", source.base, exc)
                return _Doc(
                    key=url,
                    text=cached.text,
                    notice=f"served from the local cache: {source.base} was unreachable",
                )
        raise ProtocolError(
            f"cannot reach the manifest server ({type(exc).__name__}: {exc or 'no answer'}) "
            f"within {self._timeout:g}s and no cached copy of {provider_id!r} exists; check "
            f"{ENV_VAR} or the network",
            source=source.base,
        )

    def _drive_sync(self, source: _UrlSource, provider_id: str) -> _Doc | None:
        import httpx

        plan = self._fetch_plan(source, provider_id)
        with httpx.Client(timeout=self._timeout, follow_redirects=True) as client:
            try:
                url, headers = next(plan)
                while True:
                    outcome: _Response | Exception
                    try:
                        r = client.get(url, headers=headers)
                        outcome = _Response(r.status_code, r.text, r.headers.get("etag"))
                    except httpx.TransportError as exc:
                        outcome = exc
                    url, headers = plan.send(outcome)
            except StopIteration as stop:
                result: _Doc | None = stop.value
                return result

    async def _drive_async(self, source: _UrlSource, provider_id: str) -> _Doc | None:
        import httpx

        plan = self._fetch_plan(source, provider_id)
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=True) as client:
            try:
                url, headers = next(plan)
                while True:
                    outcome: _Response | Exception
                    try:
                        r = await client.get(url, headers=headers)
                        outcome = _Response(r.status_code, r.text, r.headers.get("etag"))
                    except httpx.TransportError as exc:
                        outcome = exc
                    url, headers = plan.send(outcome)
            except StopIteration as stop:
                result: _Doc | None = stop.value
                return result


def _split_model_id(model_id: str) -> tuple[str, str]:
    provider_id, sep, model = model_id.partition("/")
    if not sep or not provider_id or not model:
        raise ConfigurationError(
            f"model id {model_id!r} must be 'provider/model'",
            hint="for example 'openai/gpt-4o' or 'openrouter/anthropic/claude-3.5-sonnet'",
        )
    return provider_id, model
