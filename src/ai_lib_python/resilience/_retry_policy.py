"""The retry decision: whether a failed attempt is retried, and after how long.

Pure and injected: no clock, no global random. ``should_retry`` asks the standard
error table whether the code is retryable, and honours the manifest's
``retry_on_http_status`` list when the failure has an HTTP status. ``delay_s`` is
exponential backoff with jitter, clamped into ``[min_delay_ms, max_delay_ms]``.
``next_delay`` combines both for one failed attempt and applies the cap on waits a
server asks for (``retry_after``): a wait beyond the cap is not retried at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ai_lib_python.errors import BY_CODE, BY_NAME, AiLibError, ConfigurationError, StandardCode

if TYPE_CHECKING:
    from ai_lib_python.protocol import RetrySpec

Strategy = Literal["exponential_backoff", "linear_backoff", "fixed_delay"]
Jitter = Literal["full", "equal", "none"]


def standard_code(error: str | StandardCode | AiLibError) -> StandardCode:
    """The standard row for an E-code (``E2001``), a name (``rate_limited``) or an error."""
    if isinstance(error, StandardCode):
        return error
    if isinstance(error, AiLibError):
        return error.standard
    row = BY_CODE.get(error) or BY_NAME.get(error)
    if row is None:
        raise ConfigurationError(
            f"unknown error code {error!r}",
            hint="use a standard code such as 'E2001' or a name such as 'rate_limited'",
        )
    return row


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to wait; ``attempt`` is 1-based."""

    max_retries: int = 3
    min_delay_ms: int = 1000
    max_delay_ms: int = 30000
    strategy: Strategy = "exponential_backoff"
    jitter: Jitter = "full"
    retry_on_http_status: tuple[int, ...] = ()
    """When non-empty, a failure with an HTTP status is retried only for these."""
    retry_on_error_status: tuple[str, ...] = ()
    retry_on_error_code: tuple[str, ...] = ()
    """When non-empty, only these standard names (``rate_limited``...) are retried."""
    max_retry_after_ms: int | None = None
    """The longest server-requested wait (``retry_after``) to honour; a longer one is
    not retried and the error surfaces with its ``retry_after``. ``None``: ``max_delay_ms``."""

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.min_delay_ms < 0 or self.max_delay_ms < 0:
            raise ConfigurationError("retry counts and delays must not be negative")
        if self.max_retry_after_ms is not None and self.max_retry_after_ms < 0:
            raise ConfigurationError("max_retry_after_ms must not be negative")
        if self.max_delay_ms < self.min_delay_ms:
            raise ConfigurationError(
                f"max_delay_ms ({self.max_delay_ms}) is below min_delay_ms ({self.min_delay_ms})"
            )

    @classmethod
    def from_manifest(cls, spec: RetrySpec | None) -> RetryPolicy:
        """The policy a manifest's ``retry_policy`` describes (defaults when absent)."""
        if spec is None:
            return cls()
        return cls(
            max_retries=spec.max_retries,
            min_delay_ms=spec.min_delay_ms,
            max_delay_ms=max(spec.max_delay_ms, spec.min_delay_ms),
            strategy=spec.strategy,
            jitter=spec.jitter,
            retry_on_http_status=tuple(spec.retry_on_http_status),
            retry_on_error_status=tuple(spec.retry_on_error_status),
            retry_on_error_code=tuple(spec.retry_on_error_code),
        )

    def should_retry(
        self,
        error: str | StandardCode | AiLibError,
        attempt: int,
        status: int | None = None,
    ) -> bool:
        """True when attempt ``attempt`` failed with a retryable error and retries remain."""
        if attempt > self.max_retries:
            return False
        row = standard_code(error)
        if not row.retryable:
            return False
        if self.retry_on_error_code and row.name not in self.retry_on_error_code:
            return False
        if status is None and isinstance(error, AiLibError):
            status = getattr(error, "status", None)
        return not (
            status is not None and self.retry_on_http_status
            and status not in self.retry_on_http_status
        )

    def delay_s(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        rand: Callable[[], float],
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based).

        A server's ``retry_after`` (seconds) wins over the backoff and lies in
        ``[min_delay_ms, retry_after_cap_s]``; a backoff lies in
        ``[min_delay_ms, max_delay_ms]``.
        """
        lo = self.min_delay_ms / 1000.0
        hi = self.max_delay_ms / 1000.0
        if retry_after is not None:
            return min(max(retry_after, lo), max(self.retry_after_cap_s, lo))
        n = max(attempt, 1)
        if self.strategy == "fixed_delay":
            base = lo
        elif self.strategy == "linear_backoff":
            base = lo * n
        else:
            base = lo * 2.0 ** min(n - 1, 62)
        base = min(base, hi)
        if self.jitter == "full":
            delay = rand() * base
        elif self.jitter == "equal":
            delay = base / 2.0 + rand() * base / 2.0
        else:
            delay = base
        return min(max(delay, lo), hi)

    @property
    def retry_after_cap_s(self) -> float:
        """The longest server-requested wait this policy honours, in seconds."""
        cap = self.max_retry_after_ms if self.max_retry_after_ms is not None else (
            self.max_delay_ms)
        return cap / 1000.0

    def next_delay(
        self,
        error: AiLibError,
        attempt: int,
        *,
        rand: Callable[[], float],
    ) -> float | None:
        """Seconds to wait before retrying after failed attempt ``attempt``, or ``None``.

        ``None`` when the error is not retryable, the retries are used up, or the
        error's ``retry_after`` is beyond :attr:`retry_after_cap_s`.
        """
        if not self.should_retry(error, attempt):
            return None
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None and retry_after > self.retry_after_cap_s:
            return None
        return self.delay_s(attempt, retry_after=retry_after, rand=rand)
