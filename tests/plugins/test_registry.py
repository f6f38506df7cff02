"""PluginRegistry: names, order, and discovery through the entry-point group."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ai_lib_python import AiClient, ChatRequest, ConfigurationError
from ai_lib_python.client import CallContext
from ai_lib_python.errors import PluginError
from ai_lib_python.plugins import ENTRY_POINT_GROUP, Plugin, PluginRegistry
from ai_lib_python.testing import ProviderEmulator
from tests._support import KEY, MODELS


class Alpha(Plugin):
    pass


class Named(Plugin):
    name = "custom-name"


def test_names_default_to_the_class_name() -> None:
    assert Alpha().name == "Alpha"
    assert Named().name == "custom-name"
    p = Alpha()
    p.name = "renamed"
    assert p.name == "renamed" and Alpha().name == "Alpha"


def test_registry_keeps_order_and_unique_names() -> None:
    reg = PluginRegistry([Alpha(), Named()])
    assert [p.name for p in reg] == ["Alpha", "custom-name"]
    assert "Alpha" in reg and len(reg) == 2
    with pytest.raises(ConfigurationError, match="already registered"):
        reg.register(Alpha())
    removed = reg.unregister("Alpha")
    assert isinstance(removed, Alpha) and reg.get("Alpha") is None
    with pytest.raises(ConfigurationError, match="no plugin named"):
        reg.unregister("Alpha")
    with pytest.raises(ConfigurationError, match="not a Plugin"):
        reg.register(object())  # type: ignore[arg-type]
    assert reg.layer().stage == 10


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake installed distribution declaring plugins in the entry-point group."""
    (tmp_path / "fake_plugins_pkg.py").write_text(textwrap.dedent("""
        from ai_lib_python.plugins import Plugin

        class Stamp(Plugin):
            name = "stamp"

            async def before_request(self, request, ctx):
                return request.with_(temperature=0.5)

        def make_other():
            class Other(Plugin):
                name = "other"
            return Other()

        def broken():
            raise RuntimeError("cannot start")
    """))
    dist = tmp_path / "fake_plugins_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins-pkg\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(f"""
        [{ENTRY_POINT_GROUP}]
        stamp = fake_plugins_pkg:Stamp
        other = fake_plugins_pkg:make_other
        [{ENTRY_POINT_GROUP}.broken]
        broken = fake_plugins_pkg:broken
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_discover_loads_entry_points(installed: Path) -> None:
    reg = PluginRegistry()
    added = reg.discover()
    assert [p.name for p in added] == ["other", "stamp"]  # sorted by entry-point name
    assert PluginRegistry().discover(names=["stamp"])[0].name == "stamp"
    with pytest.raises(ConfigurationError, match="missing"):
        PluginRegistry().discover(names=["missing"])
    with pytest.raises(PluginError) as info:
        PluginRegistry().discover(f"{ENTRY_POINT_GROUP}.broken")
    assert info.value.plugin == "broken" and info.value.hook == "load"


async def test_discovered_plugins_run_through_the_client(installed: Path,
                                                         emu: ProviderEmulator) -> None:
    class Local(Plugin):
        async def before_request(self, request: ChatRequest, ctx: CallContext) -> None:
            ctx.attributes["local"] = True

    client = await (AiClient.builder().model(MODELS["openai"]).base_url(emu.url_for("openai"))
                    .api_key(KEY).with_plugins(Local(), discover=True).build())
    async with client:
        await client.chat().user("hi").execute()
    assert emu.requests[-1].json["temperature"] == 0.5
