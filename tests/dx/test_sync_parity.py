"""The synchronous facade keeps the async API's names and signatures, minus async-ness.

Every public method and property of each async class has a synchronous twin with
the same parameters (names, kinds, defaults, annotations); ``aclose`` becomes
``close`` and the async dunders their synchronous ones. Return annotations agree
once ``AsyncIterator`` reads ``Iterator``.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import ai_lib_python.client as aclient
import ai_lib_python.structured as astructured
import ai_lib_python.sync as sclient

PAIRS = [
    (aclient.AiClient, sclient.AiClient),
    (aclient.AiClientBuilder, sclient.AiClientBuilder),
    (aclient.ChatRequestBuilder, sclient.ChatRequestBuilder),
    (aclient.ChatStream, sclient.ChatStream),
    (astructured.StructuredRequest, sclient.StructuredRequest),
    (astructured.StructuredStream, sclient.StructuredStream),
]
RENAMED = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
}
# Extra names the facade may have that the async classes do not.
SYNC_ONLY = {"async_client"}


def public_members(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("_") and name not in RENAMED and name not in RENAMED.values():
            continue
        if name in ("__init__",):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if isinstance(raw, property) or inspect.isfunction(raw):
            out[name] = raw
    return out


def normalize(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return text.replace("AsyncIterator[", "Iterator[")


def params(fn: Any) -> list[tuple[str, Any, Any, str]]:
    sig = inspect.signature(fn)
    return [(p.name, p.kind, p.default, normalize(p.annotation))
            for p in sig.parameters.values()]


@pytest.mark.parametrize(("acls", "scls"), PAIRS, ids=lambda c: c.__name__)
def test_same_public_names(acls: type, scls: type) -> None:
    expected = {RENAMED.get(n, n) for n in public_members(acls)}
    actual = set(public_members(scls)) - SYNC_ONLY
    assert actual == expected, (
        f"missing in sync.{scls.__name__}: {sorted(expected - actual)}; "
        f"extra: {sorted(actual - expected)}")


@pytest.mark.parametrize(("acls", "scls"), PAIRS, ids=lambda c: c.__name__)
def test_same_signatures(acls: type, scls: type) -> None:
    smembers = public_members(scls)
    for aname, amember in public_members(acls).items():
        smember = smembers[RENAMED.get(aname, aname)]
        if isinstance(amember, property):
            assert isinstance(smember, property), f"{scls.__name__}.{aname} is not a property"
            aret = inspect.signature(amember.fget).return_annotation
            sret = inspect.signature(smember.fget).return_annotation
            if normalize(aret) != "Any":
                assert normalize(sret) == normalize(aret), f"{scls.__name__}.{aname}"
            continue
        assert params(smember) == params(amember), f"{scls.__name__}.{aname}"
        # Async-ness differs, nothing else: a coroutine on one side, a plain call on the other.
        assert not inspect.iscoroutinefunction(smember), f"{scls.__name__}.{aname} is async"
        aret = normalize(inspect.signature(amember).return_annotation)
        sret = normalize(inspect.signature(smember).return_annotation)
        if aret != "Any":
            assert sret == aret, f"{scls.__name__}.{aname} returns {sret}, async {aret}"


def test_create_sync_matches_create() -> None:
    assert params(sclient.create_sync) == params(sclient.AiClient.create)
    assert params(sclient.AiClient.create) == params(aclient.AiClient.create)


def test_sync_classes_have_docstrings_on_every_public_method() -> None:
    missing = [f"{cls.__name__}.{name}" for _, cls in PAIRS
               for name, member in public_members(cls).items()
               if not name.startswith("__")
               and not inspect.getdoc(member.fget if isinstance(member, property) else member)]
    assert missing == []
