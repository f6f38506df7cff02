"""Every official manifest of the vendored AI-Protocol data loads through the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest

from ._paths import COMPLIANCE, OFFICIAL

V1_PROVIDERS = sorted((OFFICIAL / "v1" / "providers").glob("*.yaml"))
V1_MODELS = sorted((OFFICIAL / "v1" / "models").glob("*.yaml"))
DIST_V1 = sorted((OFFICIAL / "dist" / "v1" / "providers").glob("*.json"))
V2_PROVIDERS = sorted((COMPLIANCE / "v2" / "providers").glob("*.yaml"))
DIST_V2_ALPHA = sorted((COMPLIANCE / "dist" / "v2-alpha" / "providers").glob("*.json"))
PROVIDER_FILES = V1_PROVIDERS + DIST_V1 + V2_PROVIDERS + DIST_V2_ALPHA


def test_the_vendored_data_is_complete() -> None:
    assert (len(V1_PROVIDERS), len(V1_MODELS), len(DIST_V1)) == (36, 34, 3)
    assert (len(V2_PROVIDERS), len(DIST_V2_ALPHA)) == (8, 3)
    assert (OFFICIAL / "LICENSE-NOTICE.txt").is_file()
    assert (COMPLIANCE / "LICENSE-NOTICE.txt").is_file()


@pytest.mark.parametrize("path", PROVIDER_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_provider_manifest_loads(path: Path) -> None:
    manifest = ProtocolLoader(env={}).load_file(path)
    assert isinstance(manifest, ProtocolManifest)
    assert manifest.id == path.stem
    assert manifest.base_url and manifest.base_url.startswith("https://")
    assert manifest.payload_format
    assert manifest.source == str(path.resolve())


@pytest.mark.parametrize("path", V1_MODELS, ids=lambda p: p.name)
def test_model_registry_loads(path: Path) -> None:
    registry = ProtocolLoader(env={}).load_model_registry(path)
    assert registry.models
    for key, entry in registry.models.items():
        assert entry.provider and entry.model_id, key


def test_registries_hold_every_model() -> None:
    loader = ProtocolLoader(env={})
    total = sum(len(loader.load_model_registry(p).models) for p in V1_MODELS)
    assert total == 188


@pytest.mark.parametrize("root", [OFFICIAL, COMPLIANCE], ids=["v1-tree", "v2-tree"])
def test_every_provider_loads_by_id_from_the_repository_layout(root: Path) -> None:
    loader = ProtocolLoader([root], env={})
    ids = loader.list_providers()
    layouts = ("v1/providers/*.yaml", "dist/v1/providers/*.json", "v2/providers/*.yaml")
    on_disk = {p.stem for layout in layouts for p in root.glob(layout)}
    assert on_disk <= set(ids)
    for pid in ids:
        manifest = loader.load_provider_sync(pid)
        assert manifest.id == pid or pid in manifest.aliases
        if pid in on_disk:
            assert manifest.source is not None and manifest.source.startswith(str(root))
