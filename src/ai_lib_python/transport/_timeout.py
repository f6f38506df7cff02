"""The four timeouts of a call, as one small value object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds; ``None`` disables one.

    - ``connect``: establishing the TCP/TLS connection (ConnectTimeoutError)
    - ``first_token``: from sending the request until the first body bytes
      (FirstTokenTimeoutError)
    - ``idle``: the longest gap between two chunks of a response (IdleTimeoutError)
    - ``total``: the whole call, streaming included (TotalTimeoutError)
    """

    connect: float | None = 10.0
    first_token: float | None = 120.0
    idle: float | None = 120.0
    total: float | None = 900.0

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None, None)
        v = float(value)
        return cls(connect=min(v, 10.0), first_token=v, idle=v, total=v)
