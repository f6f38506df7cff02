"""Credential resolution order, redaction, diagnostics, and auth attachment."""

from __future__ import annotations

from typing import Any

from ai_lib_python.errors import ProviderError
from ai_lib_python.protocol import ProtocolLoader, ProtocolManifest
from ai_lib_python.transport._credentials import (
    attach_auth,
    conventional_env,
    resolve_credential,
)

from ._paths import COMPLIANCE, MOCKS, OFFICIAL

NO_KEYRING = {"keyring_get": lambda service, user: None}


def manifest(auth: dict[str, Any] | None = None, pid: str = "acme-ai",
             endpoint_auth: dict[str, Any] | None = None) -> ProtocolManifest:
    endpoint: dict[str, Any] = {"base_url": "https://acme.test"}
    if endpoint_auth is not None:
        endpoint["auth"] = endpoint_auth
    data: dict[str, Any] = {"id": pid, "protocol_version": "1.5", "endpoint": endpoint}
    if auth is not None:
        data["auth"] = auth
    return ProtocolLoader.from_dict(data)


BEARER = manifest({"type": "bearer", "token_env": "ACME_TOKEN"})


def test_conventional_env_name() -> None:
    assert conventional_env("acme-ai") == "ACME_AI_API_KEY"


def test_order_explicit_manifest_env_conventional_keyring() -> None:
    env = {"ACME_TOKEN": "token-from-manifest-env", "ACME_AI_API_KEY": "token-conventional"}
    calls: list[tuple[str, str]] = []

    def keyring_get(service: str, user: str) -> str | None:
        calls.append((service, user))
        return "token-from-keyring"

    res = resolve_credential(BEARER, explicit="token-explicit", env=env, keyring_get=keyring_get)
    assert (res.source_kind, res.source_name, res.secret) == (
        "explicit", "explicit", "token-explicit")
    res = resolve_credential(BEARER, explicit=None, env=env, keyring_get=keyring_get)
    assert (res.source_kind, res.source_name) == ("manifest_env", "ACME_TOKEN")
    del env["ACME_TOKEN"]
    res = resolve_credential(BEARER, explicit=None, env=env, keyring_get=keyring_get)
    assert (res.source_kind, res.source_name) == ("conventional_env", "ACME_AI_API_KEY")
    res = resolve_credential(BEARER, explicit=None, env={}, keyring_get=keyring_get)
    assert (res.source_kind, res.secret) == ("keyring", "token-from-keyring")
    assert calls == [("ai-lib-python", "acme-ai")]
    res = resolve_credential(BEARER, explicit=None, env={}, keyring_allowed=False,
                             keyring_get=keyring_get)
    assert res.status == "missing" and len(calls) == 1


def test_sandboxed_host_reads_nothing_implicit() -> None:
    env = {"ACME_TOKEN": "token-from-env"}
    res = resolve_credential(BEARER, explicit=None, env=env, env_allowed=False,
                             keyring_allowed=False, **NO_KEYRING)
    assert res.status == "missing" and "passed in code" in res.diagnostic
    res = resolve_credential(BEARER, explicit="token-host", env=env, env_allowed=False,
                             keyring_allowed=False, explicit_source="host_supplied")
    assert (res.source_name, res.implicit_env_allowed) == ("host_supplied", False)


def test_missing_credential_diagnostic_names_what_to_set() -> None:
    res = resolve_credential(BEARER, explicit=None, env={}, **NO_KEYRING)
    assert (res.status, res.source_kind, res.source_name, res.secret) == (
        "missing", "none", None, None)
    assert res.required == ("ACME_TOKEN",)
    assert res.conventional_fallbacks == ("ACME_AI_API_KEY",)
    assert res.diagnostic.startswith("no credential for 'acme-ai': set ACME_TOKEN")
    assert "ACME_AI_API_KEY" in res.diagnostic and "api_key=" in res.diagnostic


def test_conventional_name_equal_to_the_manifest_one_is_not_repeated() -> None:
    m = ProtocolLoader(env={}).load_file(OFFICIAL / "v1/providers/openai.yaml")
    res = resolve_credential(m, explicit=None, env={}, **NO_KEYRING)
    assert res.required == ("OPENAI_API_KEY",) and res.conventional_fallbacks == ()


def test_the_secret_never_shows() -> None:
    secret = "sk-this-must-stay-hidden-123"
    res = resolve_credential(BEARER, explicit=None, env={"ACME_TOKEN": secret}, **NO_KEYRING)
    assert res.secret == secret
    assert secret not in repr(res) and secret not in res.diagnostic and secret not in str(res)
    assert "<redacted>" in repr(res)
    err = ProviderError(f"upstream echoed {secret}", code="E1002")
    assert secret not in str(err)


def test_shadowed_top_level_auth_is_not_read() -> None:
    m = ProtocolLoader(env={}).load_file(MOCKS / "mock-credential-dual-auth.yaml")
    res = resolve_credential(m, explicit=None, env={"DUALAUTH_LEGACY_KEY": "legacy-value"},
                             **NO_KEYRING)
    assert res.status == "missing"
    assert "DUALAUTH_API_TOKEN" in res.diagnostic and "DUALAUTH_LEGACY_KEY" in res.diagnostic
    assert "legacy-value" not in res.diagnostic


def test_auth_none_needs_no_credential() -> None:
    m = manifest({"type": "none"})
    res = resolve_credential(m, explicit=None, env={"ACME_AI_API_KEY": "unused-value"},
                             **NO_KEYRING)
    assert res.status == "missing" and "no credential is needed" in res.diagnostic
    assert attach_auth(m, "x" * 10) == ({}, {})


def test_attach_auth_shapes() -> None:
    assert attach_auth(BEARER, "tok-1234567") == ({"Authorization": "Bearer tok-1234567"}, {})
    custom = manifest(endpoint_auth={"type": "custom_header", "header": "X-Key"})
    assert attach_auth(custom, "tok-1234567") == ({"X-Key": "tok-1234567"}, {})
    prefixed = manifest(endpoint_auth={"type": "custom_header", "header": "X-Key",
                                       "prefix": "Token"})
    assert attach_auth(prefixed, "tok-1234567") == ({"X-Key": "Token tok-1234567"}, {})
    query = manifest({"type": "query_param", "param_name": "key", "token_env": "G"})
    assert attach_auth(query, "tok-1234567") == ({}, {"key": "tok-1234567"})
    anthropic = ProtocolLoader(env={}).load_file(COMPLIANCE / "v2/providers/anthropic.yaml")
    assert attach_auth(anthropic, "tok-1234567") == (
        {"anthropic-version": "2023-06-01", "x-api-key": "tok-1234567"}, {})
    azure = ProtocolLoader(env={}).load_file(OFFICIAL / "v1/providers/azure.yaml")
    assert attach_auth(azure, "tok-1234567") == ({"api-key": "tok-1234567"}, {})
