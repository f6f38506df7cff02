"""The documentation is true: generated pages are current, the site builds with
``--strict``, code blocks parse and import what exists, the README's Python examples
run (against the emulator), every setting is documented, and the manifest in the
"Writing a manifest" guide works."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ai_lib_python.testing import ProviderEmulator

from .conftest import ROOT

DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocks(path: Path, lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(path.read_text(encoding="utf-8"))
            if kind == lang]


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


# -- generated pages -----------------------------------------------------------------
@pytest.mark.parametrize("page", ["providers.md", "reference/errors.md", "reference/api.md"])
def test_generated_page_is_current(page: str) -> None:
    module = gen_docs()
    expected = module.PAGES[page]()
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == expected, f"docs/{page} is out of date: run `make docs`"


def test_provider_page_lists_every_embedded_provider() -> None:
    from ai_lib_python.protocol import ProtocolLoader

    page = (DOCS / "providers.md").read_text(encoding="utf-8")
    ids = ProtocolLoader(env={}).list_providers()
    assert len(ids) >= 22
    for pid in ids:
        assert f"| `{pid}` |" in page


def test_errors_page_has_every_standard_code() -> None:
    from ai_lib_python.errors import BY_CODE

    page = (DOCS / "reference" / "errors.md").read_text(encoding="utf-8")
    for code in BY_CODE:
        assert f"| `{code}` |" in page


# -- the site ------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="mkdocs is not installed (the docs extra)")
def test_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "index.html").exists()


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        assert page.relative_to(DOCS).as_posix() in nav, f"{page} is not in mkdocs.yml"


# -- code blocks ---------------------------------------------------------------------
def test_python_blocks_parse_and_import_what_exists() -> None:
    problems = []
    for path in doc_files():
        for body in blocks(path, "python"):
            if body.lstrip().startswith("--8<--"):
                continue  # an example file, run by test_examples
            try:
                tree = compile(body, str(path), "exec", ast.PyCF_ONLY_AST
                               | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            except SyntaxError as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "ai_lib_python"):
                    module = importlib.import_module(node.module or "")
                    for alias in node.names:
                        if not hasattr(module, alias.name):
                            problems.append(f"{path.name}: {node.module}.{alias.name}")
    assert problems == []


def test_snippets_point_at_files() -> None:
    for path in doc_files():
        for target in re.findall(r'--8<-- "([^"]+)"', path.read_text(encoding="utf-8")):
            assert (ROOT / target).exists(), f"{path.name} includes missing {target}"


def emulated_manifests(emu: ProviderEmulator, folder: Path) -> Path:
    """Copies of the embedded manifests whose base URL is the emulator's."""
    from ai_lib_python.protocol import ProtocolLoader

    source = ROOT / "src" / "ai_lib_python" / "manifests"
    for pid in ProtocolLoader(env={}).list_providers():
        text = (source / f"{pid}.yaml").read_text(encoding="utf-8")
        text = re.sub(r'^(  base_url: ).*$', rf'\g<1>"{emu.url_for(pid)}"', text,
                      count=1, flags=re.M)
        (folder / f"{pid}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_readme_python_examples_run(tmp_path: Path) -> None:
    """The README's code, unchanged, against the emulator: keys are set to dummies and
    AI_PROTOCOL_PATH points every provider at the emulator."""
    from ai_lib_python.protocol import ProtocolLoader

    loader = ProtocolLoader(env={})
    keys = {v: "emulator-key" for pid in loader.list_providers()
            for v in loader.load_provider_sync(pid).auth.token_envs}
    readme_blocks = blocks(ROOT / "README.md", "python")
    assert readme_blocks
    emu = ProviderEmulator.start_in_thread()
    try:
        manifests = emulated_manifests(emu, tmp_path)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(keys, AI_PROTOCOL_PATH=str(manifests))
        for i, body in enumerate(readme_blocks):
            script = tmp_path / f"readme_{i}.py"
            script.write_text(body, encoding="utf-8")
            out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                 env=env, cwd=tmp_path, timeout=60)
            assert out.returncode == 0, f"README block {i}:\n{body}\n{out.stderr}"
            assert "Echo:" in out.stdout, out.stdout  # answered by the emulator
    finally:
        emu.stop()


# -- settings ------------------------------------------------------------------------
def test_every_environment_variable_is_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (ROOT / "src" / "ai_lib_python").rglob("*.py"))
    names = set(re.findall(r"\b(AI_LIB_[A-Z_]*[A-Z]|AI_PROTOCOL_PATH)\b", source))
    names.discard("AI_LIB_TIMEOUT")  # the prefix of the four timeout variables
    page = (DOCS / "reference" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in page)
    assert names and missing == []


# -- the manifest guide --------------------------------------------------------------
async def test_manifest_in_the_guide_validates_and_works(tmp_path: Path) -> None:
    from ai_lib_python import AiClient, ProtocolLoader
    from ai_lib_python.protocol import validate_path

    manifest = next(b for b in blocks(DOCS / "guide" / "new-provider.md", "yaml")
                    if "\nid: acme\n" in b)
    path = tmp_path / "acme.yaml"
    path.write_text(manifest, encoding="utf-8")
    report = validate_path(str(path))
    assert report.ok, report.errors
    loader = ProtocolLoader([path], env={})
    async with ProviderEmulator() as emu, await AiClient.create(
            "acme/acme-large-2", loader=loader, base_url=emu.url_for("acme"),
            api_key="k") as client:
        resp = await client.chat().user("hi").max_tokens(5).execute()
        streamed = await client.chat().user("hi").stream().collect()
        assert emu.last_request.headers["authorization"] == "Bearer k"
    assert resp.content == streamed.content == "Echo: hi"
    assert resp.finish_reason == "end_turn"
