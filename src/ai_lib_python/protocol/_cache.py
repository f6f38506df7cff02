"""On-disk cache of manifests fetched from an ``AI_PROTOCOL_PATH`` URL.

Each URL is stored as two files named by the URL's hash: the body and a small JSON
record (URL, ETag, time stored). The loader revalidates with ``If-None-Match`` and
falls back to the stored body when the server cannot be reached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_APP = "ai-lib-python"


def default_cache_dir() -> Path:
    """The platform's per-user cache folder for this library's manifests."""
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return root / _APP / "Cache" / "manifests"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / _APP / "manifests"
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / _APP / "manifests"


@dataclass(frozen=True, slots=True)
class CachedDocument:
    url: str
    text: str
    etag: str | None
    stored_at: float


class UrlCache:
    """Bodies and ETags of fetched manifest URLs, one pair of files per URL."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_cache_dir()

    def _stem(self, url: str) -> Path:
        return self.directory / hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]

    def get(self, url: str) -> CachedDocument | None:
        stem = self._stem(url)
        try:
            meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
            text = stem.with_suffix(".body").read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != url:
            return None
        etag = meta.get("etag")
        return CachedDocument(
            url=url,
            text=text,
            etag=etag if isinstance(etag, str) else None,
            stored_at=float(meta.get("stored_at", 0.0)),
        )

    def put(self, url: str, text: str, etag: str | None) -> None:
        """Store atomically (write to a temp file, then rename). Failures are ignored:
        the cache is an optimization, never a reason for a load to fail."""
        stem = self._stem(url)
        meta = {"url": url, "etag": etag, "stored_at": time.time()}
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomic(stem.with_suffix(".body"), text)
            _write_atomic(stem.with_suffix(".json"), json.dumps(meta))


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
