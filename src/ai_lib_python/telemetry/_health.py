"""HealthChecker: the manifest's ``availability.check`` run against endpoints.

Each endpoint's manifest may declare ``availability.check`` (method, path relative
to the base URL, expected statuses, timeout). A check is healthy when the answer's
status is one of the expected ones (a ``401`` counts when the manifest lists it: the
probe carries no credential, it asks whether the service answers). An endpoint whose
manifest declares no check is reported as ``unknown`` and left as it is.

Checks run on demand (``await checker.check()``) or periodically (``start()``), with
the interval and ``sleep`` injected; ``aclose()`` cancels the periodic task, and a
routed client closes its checker when it closes. Results feed a
:class:`~ai_lib_python.routing.ModelArray` (``array=``), the ``ai_lib_endpoint_up``
gauge (``metrics=``) and any ``on_result`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ai_lib_python.errors import AiLibError, redact
from ai_lib_python.transport import Timeout

if TYPE_CHECKING:
    from ai_lib_python.client._endpoint import Endpoint
    from ai_lib_python.routing import ModelArray
    from ai_lib_python.telemetry._metrics import MetricsCollector

log = logging.getLogger("ai_lib_python.telemetry")

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class HealthResult:
    """The outcome of one check of one endpoint."""

    index: int
    target: str
    status: str
    """``healthy``, ``unhealthy`` or ``unknown`` (no check declared)."""
    http_status: int | None = None
    latency_ms: float | None = None
    detail: str | None = None
    checked_at: float = 0.0

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY


class HealthChecker:
    """Checks endpoints' availability (see the module doc)."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        array: ModelArray | None = None,
        names: Sequence[str] | None = None,
        interval_s: float = 60.0,
        metrics: MetricsCollector | None = None,
        on_result: Callable[[HealthResult], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        default_timeout_s: float = 5.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.endpoints = tuple(endpoints)
        if array is not None and len(array) < len(self.endpoints):
            self.endpoints = self.endpoints[:len(array)]
        self.array = array
        if names is None:
            names = ([m.name for m in array.members][:len(self.endpoints)] if array is not None
                     else [e.name for e in self.endpoints])
        self.names = tuple(names)
        self.interval_s = interval_s
        self.metrics = metrics
        self.on_result = on_result
        self._sleep = sleep
        self._clock = clock
        self._timeout_s = default_timeout_s
        self._task: asyncio.Task[None] | None = None
        self.last: dict[str, HealthResult] = {}
        self.rounds = 0

    # -- one round ----------------------------------------------------------------
    async def check(self) -> list[HealthResult]:
        """Check every endpoint once (concurrently) and report the results."""
        results = await asyncio.gather(
            *(self._check_one(i, ep) for i, ep in enumerate(self.endpoints)))
        for res in results:
            self._report(res)
        self.rounds += 1
        return list(results)

    async def _check_one(self, index: int, endpoint: Endpoint) -> HealthResult:
        name = self.names[index]
        avail = endpoint.manifest.availability
        check = avail.check if avail is not None else None
        now = self._clock()
        if check is None:
            return HealthResult(index, name, UNKNOWN, detail="no availability check declared",
                                checked_at=now)
        t = (check.timeout_ms / 1000.0) if check.timeout_ms else self._timeout_s
        path = check.path
        url = path if path.startswith(("http://", "https://")) else endpoint.base_url + path
        started = time.monotonic()
        try:
            async with endpoint.transport.open(
                    check.method.upper(), url, headers={"accept": "application/json"},
                    timeout=Timeout(connect=t, first_token=t, idle=t, total=t)) as resp:
                status = resp.status
        except AiLibError as exc:
            return HealthResult(index, name, UNHEALTHY, latency_ms=_ms(started),
                                detail=f"{exc.standard.name}: {exc.message}", checked_at=now)
        except (OSError, asyncio.TimeoutError) as exc:
            return HealthResult(index, name, UNHEALTHY, latency_ms=_ms(started),
                                detail=redact(f"{type(exc).__name__}: {exc}"), checked_at=now)
        ok = status in check.expected_status
        return HealthResult(index, name, HEALTHY if ok else UNHEALTHY, http_status=status,
                            latency_ms=_ms(started),
                            detail=None if ok else f"HTTP {status} (expected "
                            f"{', '.join(map(str, check.expected_status))})",
                            checked_at=now)

    def _report(self, res: HealthResult) -> None:
        self.last[res.target] = res
        if res.status == UNKNOWN:
            return
        if self.array is not None:
            self.array.set_health(res.index, res.healthy, res.detail)
        if self.metrics is not None:
            self.metrics.set_up(res.target, res.healthy)
        if self.on_result is not None:
            self.on_result(res)
        if not res.healthy:
            log.warning("health check of %s failed: %s", res.target, res.detail)

    # -- periodic -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Check now and then every ``interval_s`` until :meth:`aclose` (needs a loop)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="ai-lib-health-checker")

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in a callback must not stop the checks
                log.exception("health check round failed")
            await self._sleep(self.interval_s)

    async def aclose(self) -> None:
        """Stop the periodic checks. Safe to call twice."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
