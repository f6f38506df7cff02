"""Hot reload: watch manifest files and report edits (watchdog, imported on first use).

The watcher only reports which file changed; the loader re-parses it and swaps the
cached manifest atomically, so requests already holding the old object keep it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_lib_python.errors import ConfigurationError


class ManifestWatcher:
    """Calls ``on_change(path)`` from a background thread when a watched file changes."""

    def __init__(self, on_change: Callable[[Path], None]) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ConfigurationError(
                "hot reload of manifests needs the 'watchdog' package",
                hint="pip install 'ai-lib-python[full]' or pass watch=False",
            ) from None
        self._on_change = on_change
        self._files: set[Path] = set()
        self._dirs: set[Path] = set()
        self._lock = threading.Lock()
        watcher = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if getattr(event, "is_directory", False):
                    return
                for attr in ("src_path", "dest_path"):
                    raw = getattr(event, attr, None)
                    if raw:
                        watcher._notify(Path(raw if isinstance(raw, str) else raw.decode()))

        self._handler = _Handler()
        self._observer: Any = Observer()
        self._observer.daemon = True
        self._observer.start()

    def watch(self, path: Path) -> None:
        """Watch one file (its folder is observed, so atomic renames are seen too)."""
        resolved = path.resolve()
        with self._lock:
            self._files.add(resolved)
            folder = resolved.parent
            if folder not in self._dirs:
                self._observer.schedule(self._handler, str(folder), recursive=False)
                self._dirs.add(folder)

    def _notify(self, path: Path) -> None:
        try:
            resolved = path.resolve()
        except OSError:
            return
        with self._lock:
            hit = resolved in self._files
        if hit:
            self._on_change(resolved)

    def close(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=5)
