"""``make bench``: the project next to a raw-httpx baseline, same workloads, same run.

Each measurement runs in a fresh process; the two implementations alternate and
every workload is repeated, and the table shows medians and the ratio of the
project to the baseline measured in this same run. Every workload verifies its
output, so no number can come from skipped work. ``--smoke`` runs each workload
once at a tiny size: a correctness check for CI, with no timing judged.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


@dataclass
class Workload:
    name: str
    args: list[str]
    metric: str
    higher_is_better: bool
    target: float | None  # ratio ours/raw that must not be exceeded (or reached)
    label: str
    impls: tuple[str, str] = ("raw", "ours")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_workload(impl: str, w: Workload, port: int) -> dict[str, Any]:
    cmd = [PY, os.path.join(HERE, "workloads.py"), impl, *w.args, "--port", str(port)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{w.name} ({impl}) failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


IMPORT_SNIPPET = (
    "import resource, time; t = time.perf_counter(); {stmt}; "
    "dt = time.perf_counter() - t; "
    "print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


def run_import(stmt: str) -> tuple[float, float]:
    out = subprocess.run([PY, "-c", IMPORT_SNIPPET.format(stmt=stmt)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def compile_bytecode() -> list[str]:
    """Byte-compile the package and the benchmark code, as installing a wheel does.

    pip writes the ``.pyc`` files of an installed package (the baseline's httpx has
    them); an editable install run with ``PYTHONDONTWRITEBYTECODE`` has none, and every
    measured process would compile the package from source again, paying time and the
    garbage collections of what compiling allocates. Returns the directories done.
    """
    spec = importlib.util.find_spec("ai_lib_python")  # finds, does not import
    dirs = [HERE]
    if spec is not None and spec.submodule_search_locations:
        dirs += list(spec.submodule_search_locations)
    done = []
    for d in dirs:
        if subprocess.run([PY, "-m", "compileall", "-q", d], capture_output=True).returncode == 0:
            done.append(d)
    return done


def fmt(v: float) -> str:
    if v >= 100_000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.1f}"
    return f"{v:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", help="comma-separated workload names")
    a = ap.parse_args()
    smoke = a.smoke
    reps = 1 if smoke else a.reps
    n_seq, n_stream, n_conc, conc, n_pipe = (
        (40, 300, 20, 8, 300) if smoke else (2000, 20000, 200, 256, 20000))
    workloads = [
        Workload("seq", ["seq", "--n", str(n_seq)], "per_call_us", False, 1.10,
                 "seq: us per non-streaming call"),
        *(Workload(f"stream-{f}", [f"stream-{f}", "--n", str(n_stream)], "deltas_per_s", True,
                   0.80, f"stream {f}: deltas/s") for f in ("openai", "anthropic", "gemini")),
        Workload("concurrent", ["concurrent", "--n", str(n_conc), "--streams", str(conc)],
                 "wall_s", False, 1.30, f"concurrent {conc}x{n_conc}: wall s"),
        Workload("pipeline", ["pipeline", "--n", str(n_pipe)], "events_per_s", True, None,
                 "pipeline only (in memory): events/s"),
    ]
    telemetry = _telemetry_available()
    if telemetry:
        seq_args = ["seq", "--n", str(n_seq)]
        pair = ("ours-plain", "ours")
        workloads += [
            Workload("seq+telemetry", [*seq_args, "--telemetry=full"], "per_call_us",
                     False, 1.10, "seq, telemetry on: us per call", pair),
            Workload("stream+telemetry", ["stream-openai", "--n", str(n_stream),
                                          "--telemetry=full"],
                     "deltas_per_s", True, 0.909, "stream, telemetry on: deltas/s", pair),
            # Where the telemetry cost goes (info): each sink alone, and the floor of
            # one bare OpenTelemetry span per call made by the caller on the same setup.
            Workload("seq+metrics", [*seq_args, "--telemetry=metrics"], "per_call_us",
                     False, None, "seq, metrics only: us per call", pair),
            Workload("seq+tracing", [*seq_args, "--telemetry=tracing"], "per_call_us",
                     False, None, "seq, tracing only: us per call", pair),
            Workload("seq+span", [*seq_args, "--telemetry=span"], "per_call_us", False, None,
                     "seq, no telemetry layer, caller's bare OTel span per call: us", pair),
        ]
    if a.only:
        keep = set(a.only.split(","))
        workloads = [w for w in workloads if w.name in keep]

    compiled = compile_bytecode()
    port = free_port()
    server = subprocess.Popen([PY, os.path.join(HERE, "server.py"), str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    if server.stdout.readline().strip() != "ready":
        raise SystemExit("benchmark server did not start")
    # The server builds each streamed body on its first request; build them all now so
    # no measured run pays for it.
    for w in workloads:
        if w.name.startswith(("stream", "concurrent")):
            run_workload("raw", _plain(w), port)
    results: dict[tuple[str, str], list[float]] = {}
    extra: dict[tuple[str, str], list[float]] = {}
    warm: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    try:
        for rep in range(reps):
            for w in workloads:
                order = w.impls if rep % 2 == 0 else w.impls[::-1]
                for impl in order:
                    args_impl = "ours" if impl.startswith("ours") else "raw"
                    wl = w
                    if impl == "ours-plain":  # the same workload without telemetry
                        wl = _plain(w)
                    r = run_workload(args_impl, wl, port)
                    results.setdefault((w.name, impl), []).append(float(r[w.metric]))
                    if "rss_peak_mb" in r:
                        extra.setdefault((w.name, impl), []).append(float(r["rss_peak_mb"]))
                    if "warm_deltas_per_s" in r:
                        warm.setdefault((w.name, impl), []).append(
                            float(r["warm_deltas_per_s"]))
        imports: dict[str, list[tuple[float, float]]] = {}
        n_imports = 2 if smoke else 10
        stmts = {"raw": "import httpx", "ours": "import ai_lib_python",
                 "ours (AiClient)": "from ai_lib_python import AiClient"}
        for _ in range(n_imports):
            for key, stmt in stmts.items():
                imports.setdefault(key, []).append(run_import(stmt))
    finally:
        server.stdin.close()
        tail = server.stdout.read()
        server.wait(timeout=30)
    wall = time.perf_counter() - started
    server_cpu = json.loads(tail.strip().splitlines()[-1])["cpu_s"] if tail.strip() else 0.0

    rows: list[tuple[str, str, str, str, str, str]] = []
    missed = 0

    def add(label: str, raw: float, ours: float, ratio: float, target: str, ok: bool | None,
            ) -> None:
        nonlocal missed
        status = "-" if ok is None else ("met" if ok else "MISSED")
        if ok is False:
            missed += 1
        rows.append((label, fmt(raw), fmt(ours), f"{ratio:.2f}x", target, status))

    for w in workloads:
        base_key = w.impls[0]
        raw = statistics.median(results[(w.name, base_key)])
        ours = statistics.median(results[(w.name, "ours")])
        ratio = ours / raw
        if w.target is None:
            add(w.label, raw, ours, ratio, "", None)
        elif w.higher_is_better:
            add(w.label, raw, ours, ratio, f">= {w.target:.2f}x", ratio >= w.target)
        else:
            add(w.label, raw, ours, ratio, f"<= {w.target:.2f}x", ratio <= w.target)
        if (w.name, "ours") in warm and w.target is not None and w.impls[0] == "raw":
            w_raw = statistics.median(warm[(w.name, base_key)])
            w_ours = statistics.median(warm[(w.name, "ours")])
            add(w.label.replace(":", ", second stream in the process:"), w_raw, w_ours,
                w_ours / w_raw, "(info)", None)
        if (w.name, "ours") in extra:
            r_raw = statistics.median(extra[(w.name, base_key)])
            r_ours = statistics.median(extra[(w.name, "ours")])
            add(w.label.split(":")[0] + ": peak RSS MB", r_raw, r_ours, r_ours / r_raw,
                "<= 1.30x", r_ours / r_raw <= 1.30)
    t_raw = statistics.median(t for t, _ in imports["raw"]) * 1000
    rss_raw = statistics.median(r for _, r in imports["raw"])
    for key in ("ours", "ours (AiClient)"):
        t = statistics.median(x for x, _ in imports[key]) * 1000
        rss = statistics.median(r for _, r in imports[key])
        add(f"import: ms, {stmts[key]}", t_raw, t, t / t_raw, "<= 2.00x", t / t_raw <= 2.0)
        add(f"import: RSS MB, {stmts[key]}", rss_raw, rss, rss / rss_raw, "<= 1.50x",
            rss / rss_raw <= 1.5)

    headers = ("workload", "baseline", "ai-lib-python", "ratio", "target", "")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(wd) for h, wd in zip(headers, widths, strict=True))
    print(line.rstrip())
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(wd) for c, wd in zip(r, widths, strict=True)).rstrip())
    print(f"\nbaseline: raw httpx.AsyncClient + aiter_lines + json.loads (telemetry rows: "
          f"the project with telemetry off); medians of {reps} interleaved runs, fresh "
          f"process each; {os.cpu_count()} cores; server CPU {server_cpu:.1f}s of {wall:.1f}s "
          "wall")
    print("bytecode compiled beforehand, as a wheel install does: "
          + (", ".join(os.path.relpath(d) for d in compiled) or "none (not writable)"))
    if smoke:
        print("smoke mode: every workload ran and verified its output; timings not judged")
        return 0
    judged = sum(1 for r in rows if r[5] != "-")
    print(f"{judged - missed} of {judged} targets met" if missed else "all targets met")
    return 0


def _plain(w: Workload) -> Workload:
    """``w`` without telemetry."""
    return Workload(w.name, [x for x in w.args if not x.startswith("--telemetry")],
                    w.metric, w.higher_is_better, None, w.label)


def _telemetry_available() -> bool:
    code = "import ai_lib_python.telemetry as t, opentelemetry.sdk, prometheus_client"
    return subprocess.run([PY, "-c", code], capture_output=True).returncode == 0


if __name__ == "__main__":
    raise SystemExit(main())
