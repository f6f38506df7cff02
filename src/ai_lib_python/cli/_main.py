"""``ai-lib``: chat, providers, validate, emulator, demo, batch."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def _out() -> TextIO:
    return sys.stdout


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip() + "\n")


# -- chat ---------------------------------------------------------------------------
async def _chat(args: argparse.Namespace) -> int:
    from ai_lib_python import AiClient, PartialContentDelta, ThinkingDelta

    out = _out()
    async with await AiClient.create(args.model, api_key=args.api_key,
                                     base_url=args.base_url) as client:
        builder = client.chat()
        if args.system:
            builder.system(args.system)
        builder.user(args.prompt)
        if args.temperature is not None:
            builder.temperature(args.temperature)
        if args.max_tokens is not None:
            builder.max_tokens(args.max_tokens)
        if args.no_stream:
            resp = await builder.execute()
        else:
            async with builder.stream() as stream:
                async for event in stream:
                    if args.json:
                        continue
                    if isinstance(event, PartialContentDelta) and event.candidate_index == 0:
                        out.write(event.content)
                        out.flush()
                    elif isinstance(event, ThinkingDelta) and args.show_thinking:
                        sys.stderr.write(event.thinking)
            resp = stream.response
        if args.json:
            out.write(json.dumps(_response_json(resp), ensure_ascii=False, indent=2) + "\n")
        elif args.no_stream:
            out.write(resp.content + "\n")
        else:
            out.write("\n")
    return 0


def _response_json(resp: Any) -> dict[str, Any]:
    usage = resp.usage
    return {
        "content": resp.content,
        "thinking": resp.thinking,
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                       for c in resp.tool_calls],
        "finish_reason": resp.finish_reason,
        "raw_finish_reason": resp.raw_finish_reason,
        "usage": None if usage is None else {
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens},
        "stats": {"provider": resp.stats.provider, "model": resp.stats.model,
                  "latency_ms": round(resp.stats.latency_ms, 2),
                  "time_to_first_token_ms": resp.stats.time_to_first_token_ms,
                  "request_id": resp.stats.request_id},
    }


# -- providers ----------------------------------------------------------------------
def _providers(args: argparse.Namespace) -> int:
    from ai_lib_python.client import default_loader

    loader = default_loader()
    rows = []
    for pid in loader.list_providers():
        m = loader.load_provider_sync(pid)
        caps = sorted(m.capabilities)
        envs = ",".join(m.auth.token_envs) or "-"
        rows.append({"id": m.id, "name": m.name or m.id, "format": m.payload_format,
                     "base_url": m.base_url or "(required)", "auth": m.auth.type,
                     "env": envs, "capabilities": caps})
    out = _out()
    if args.json:
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    headers = ("id", "format", "auth", "env", "capabilities")
    table = [(r["id"], r["format"], r["auth"], r["env"], " ".join(r["capabilities"]))
             for r in rows]
    widths = [max(len(h), *(len(str(t[i])) for t in table)) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for t in table:
        cells = (str(c).ljust(w) for c, w in zip(t, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"\n{len(rows)} providers\n")
    return 0


# -- validate -----------------------------------------------------------------------
def _validate(args: argparse.Namespace) -> int:
    from ai_lib_python.protocol import validate_path

    failed = 0
    out = _out()
    for path in args.paths:
        report = validate_path(path)
        if report.ok:
            out.write(f"ok      {path}\n")
        else:
            failed += 1
            out.write(f"invalid {path}\n")
            for e in report.errors:
                out.write(f"  error: {e}\n")
        for w in report.warnings if args.warnings else []:
            out.write(f"  warning: {w}\n")
    return 1 if failed else 0


# -- emulator -----------------------------------------------------------------------
def _emulator(args: argparse.Namespace) -> int:
    from ai_lib_python.testing import serve

    serve(args.host, args.port)
    return 0


# -- batch --------------------------------------------------------------------------
async def _batch(args: argparse.Namespace) -> int:
    from ai_lib_python import AiClient
    from ai_lib_python.batch import run_jsonl
    from ai_lib_python.tokens import ContextWindowGuard, CostMeter

    meter = CostMeter()
    # Oversized items fail with E1005 without being sent; each line carries its cost.
    layers: list[Any] = [ContextWindowGuard(), meter]
    if args.cache:
        from ai_lib_python.cache import DiskCache, ResponseCache

        layers.append(ResponseCache(DiskCache(args.cache), ttl=None, close_backend=True))
    async with await AiClient.create(args.model, api_key=args.api_key, base_url=args.base_url,
                                     layers=layers) as client:
        summary = await run_jsonl(client, args.input, args.output,
                                  max_concurrency=args.concurrency, progress_bar=args.progress)
    cost = meter.tracker.counters()
    priced = f", about ${cost['cost_usd']:.6f}" if cost["calls"] > cost["unpriced_calls"] else ""
    _err(f"{summary.total} items: {summary.succeeded} done, {summary.failed} failed, "
         f"{summary.skipped} already in {args.output}{priced}")
    return 1 if summary.failed else 0


# -- demo ---------------------------------------------------------------------------
async def _demo(args: argparse.Namespace) -> int:
    from ai_lib_python.cli._demo import run_demo

    return await run_demo(_out())


def build_parser() -> argparse.ArgumentParser:
    from ai_lib_python._version import __version__

    parser = argparse.ArgumentParser(prog="ai-lib", description="One client for every LLM "
                                     "provider, driven by AI-Protocol manifests.")
    parser.add_argument("--version", action="version", version=f"ai-lib-python {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="send a prompt and stream the answer")
    chat.add_argument("model", help="provider/model, e.g. openai/gpt-4o")
    chat.add_argument("prompt")
    chat.add_argument("--system")
    chat.add_argument("--base-url")
    chat.add_argument("--api-key", help="else read from the provider's env var")
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--no-stream", action="store_true")
    chat.add_argument("--json", action="store_true", help="print the response as JSON")
    chat.add_argument("--show-thinking", action="store_true", help="reasoning to stderr")

    prov = sub.add_parser("providers", help="list the embedded providers")
    prov.add_argument("--json", action="store_true")

    val = sub.add_parser("validate", help="validate manifest files")
    val.add_argument("paths", nargs="+")
    val.add_argument("--warnings", action="store_true", help="also print warnings")

    emu = sub.add_parser("emulator", help="run the local provider emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8080)

    sub.add_parser("demo", help="stream a chat through the whole stack, no key needed")

    bat = sub.add_parser("batch", help="run a JSONL file of requests (resumable)",
                         description="Run IN.jsonl (one request per line: id, messages or "
                         "prompt, optional system and parameters) into OUT.jsonl; a rerun "
                         "skips the ids already answered in OUT.")
    bat.add_argument("input", metavar="IN.jsonl")
    bat.add_argument("output", metavar="OUT.jsonl")
    bat.add_argument("--model", required=True, help="provider/model, e.g. openai/gpt-4o")
    bat.add_argument("--base-url")
    bat.add_argument("--api-key", help="else read from the provider's env var")
    bat.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    bat.add_argument("--cache", metavar="PATH", help="reuse answers from a sqlite cache file")
    bat.add_argument("--progress", action="store_true", help="progress bar (needs rich)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ai-lib`` with ``argv`` (default: the process arguments); return the exit code."""
    from ai_lib_python.errors import AiLibError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "chat":
            return asyncio.run(_chat(args))
        if args.command == "providers":
            return _providers(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "emulator":
            return _emulator(args)
        if args.command == "demo":
            return asyncio.run(_demo(args))
        if args.command == "batch":
            return asyncio.run(_batch(args))
    except AiLibError as exc:
        _err(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
