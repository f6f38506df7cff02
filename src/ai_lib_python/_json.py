"""JSON helpers: orjson when installed, the standard library otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

loads: Callable[[bytes | str], Any]
try:  # pragma: no cover - depends on the environment
    import orjson

    loads = orjson.loads

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover
    loads = json.loads

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


JSONDecodeError: tuple[type[Exception], ...] = (ValueError,)  # orjson and json both subclass it
