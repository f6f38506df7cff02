"""The public surface stays curated: ``__all__`` lists resolve, the top-level list is
the documented one, every public name has a docstring, and nothing user-facing
imports a private module."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
from pathlib import Path
from typing import Any

import pytest

import ai_lib_python

from .conftest import ROOT

SRC = ROOT / "src" / "ai_lib_python"
DATA_PACKAGES = {"manifests"}  # YAML only, nothing to export


def public_packages() -> list[str]:
    return sorted(p.name for p in SRC.iterdir()
                  if (p / "__init__.py").exists() and not p.name.startswith("_")
                  and p.name not in DATA_PACKAGES)


def exported(pkg: str) -> list[tuple[str, Any]]:
    mod = importlib.import_module(f"ai_lib_python.{pkg}")
    return [(name, getattr(mod, name)) for name in mod.__all__]


@pytest.mark.parametrize("pkg", public_packages())
def test_all_resolves_and_is_public(pkg: str) -> None:
    mod = importlib.import_module(f"ai_lib_python.{pkg}")
    assert isinstance(getattr(mod, "__all__", None), list), f"{pkg} has no __all__ list"
    assert len(set(mod.__all__)) == len(mod.__all__), f"{pkg}.__all__ has duplicates"
    for name in mod.__all__:
        assert not name.startswith("_"), f"{pkg}.__all__ exports private {name}"
        obj = getattr(mod, name)  # raises if it does not resolve
        assert not isinstance(obj, types.ModuleType), f"{pkg}.{name} is a module"


def test_top_level_all_is_the_documented_list() -> None:
    names = set(ai_lib_python.__all__)
    assert names == {"__version__", *ai_lib_python._EXPORTS}
    assert sorted(dir(ai_lib_python)) == sorted(ai_lib_python.__all__)
    api_page = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    top = api_page.split("## `ai_lib_python`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", top, re.M))
    assert documented == names - {"__version__"}


def test_top_level_names_are_their_packages_objects() -> None:
    for name, home in ai_lib_python._EXPORTS.items():
        package = importlib.import_module(home)
        assert name in package.__all__, f"{name} is not in {home}.__all__"
        assert getattr(ai_lib_python, name) is getattr(package, name)


def test_type_checkers_see_every_lazy_name() -> None:
    """The lazy names are re-exported under ``if TYPE_CHECKING:`` for IDEs and checkers."""
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    seen.update(a.asname or a.name for a in sub.names
                                if a.asname == a.name)
    assert seen == set(ai_lib_python._EXPORTS)


def _own_doc(obj: Any) -> str | None:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        # a dataclass without a docstring gets its signature as __doc__
        if isinstance(doc, str) and doc.startswith(obj.__name__ + "("):
            return None
        return doc if isinstance(doc, str) else None
    return getattr(obj, "__doc__", None)


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for pkg in public_packages():
        mod = importlib.import_module(f"ai_lib_python.{pkg}")
        if not (mod.__doc__ or "").strip():
            missing.append(f"ai_lib_python.{pkg} (module)")
        for name, obj in exported(pkg):
            if (inspect.isclass(obj) or inspect.isroutine(obj)) and not (
                    (_own_doc(obj) or "").strip()):
                missing.append(f"ai_lib_python.{pkg}.{name}")
    assert missing == [], "missing docstrings: " + ", ".join(missing)


USER_FACING = [
    "AiClient", "AiClientBuilder", "ChatRequestBuilder", "ChatStream", "CancelToken",
]


@pytest.mark.parametrize("pkg", ["client", "sync"])
def test_client_classes_document_every_public_method(pkg: str) -> None:
    mod = importlib.import_module(f"ai_lib_python.{pkg}")
    missing = []
    for cls_name in USER_FACING:
        cls = getattr(mod, cls_name, None)
        if cls is None:
            continue
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            target = getattr(target, "__func__", target)
            if callable(target) and not (inspect.getdoc(target) or "").strip():
                missing.append(f"{pkg}.{cls_name}.{name}")
    assert missing == [], "missing docstrings: " + ", ".join(missing)


PRIVATE_IMPORT = re.compile(r"\bai_lib_python(?:\.\w+)*\._\w+")


def user_facing_texts() -> list[Path]:
    paths = [ROOT / "README.md", *sorted((ROOT / "examples").glob("*.py")),
             *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in paths if p.exists()]


def test_examples_and_docs_use_only_public_modules() -> None:
    leaks = []
    for path in user_facing_texts():
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE_IMPORT.search(line) and "_version" not in line:
                leaks.append(f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}")
    assert leaks == []


def test_package_is_typed() -> None:
    assert (SRC / "py.typed").exists()
