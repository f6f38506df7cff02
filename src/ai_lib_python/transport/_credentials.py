"""Credential resolution and attachment, driven by the manifest's auth block.

Order: an explicit key given in code -> the manifest's ``token_env``/``key_env`` ->
the conventional ``<PROVIDER_ID>_API_KEY`` -> the OS keyring (service
``ai-lib-python``, user = provider id) when the ``keyring`` package is installed.
``endpoint.auth`` replaces a top-level ``auth`` block entirely: the shadowed block's
variables are never read.

A resolved secret is registered for redaction and kept out of every repr and
diagnostic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ai_lib_python.errors import register_secret

if TYPE_CHECKING:
    from ai_lib_python.protocol import ProtocolManifest

KEYRING_SERVICE = "ai-lib-python"

Status = Literal["available", "missing"]
SourceKind = Literal["explicit", "manifest_env", "conventional_env", "keyring", "none"]
KeyringGetter = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class CredentialResolution:
    """Where a provider's credential came from (or what to set when it is missing).

    ``secret`` holds the value; it never appears in ``repr`` or ``diagnostic``.
    """

    provider: str
    status: Status
    source_kind: SourceKind
    source_name: str | None
    required: tuple[str, ...]
    conventional_fallbacks: tuple[str, ...]
    diagnostic: str
    implicit_env_allowed: bool = True
    implicit_keyring_allowed: bool = True
    _secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def secret(self) -> str | None:
        """The credential value (``None`` when missing). Never log it."""
        return self._secret

    @property
    def available(self) -> bool:
        return self.status == "available"

    def __repr__(self) -> str:
        return (
            f"CredentialResolution(provider={self.provider!r}, status={self.status!r}, "
            f"source_kind={self.source_kind!r}, source_name={self.source_name!r}, "
            f"secret={'<redacted>' if self._secret else None})"
        )


def conventional_env(provider_id: str) -> str:
    """``<ID>_API_KEY``, the id upper-cased with ``-`` turned into ``_``."""
    return provider_id.upper().replace("-", "_") + "_API_KEY"


def _keyring_get(service: str, username: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        value = keyring.get_password(service, username)
    except Exception:  # any backend failure means "not there"
        return None
    return value if isinstance(value, str) and value else None


def resolve_credential(
    manifest: ProtocolManifest,
    *,
    explicit: str | None,
    env: Mapping[str, str] | None = None,
    keyring_allowed: bool = True,
    env_allowed: bool = True,
    explicit_source: str = "explicit",
    keyring_get: KeyringGetter | None = None,
) -> CredentialResolution:
    """Find the credential for ``manifest``'s provider.

    ``env`` defaults to ``os.environ``. Sandboxed hosts pass ``env_allowed=False`` and
    ``keyring_allowed=False`` so only the explicit (host-supplied) key counts;
    ``explicit_source`` names it in the result (``"host_supplied"``).
    """
    auth = manifest.auth
    pid = manifest.id
    required = tuple(auth.token_envs)
    conventional = conventional_env(pid)
    fallbacks = () if conventional in required else (conventional,)
    shadow_note = _shadow_note(auth.shadowed_envs)

    def found(kind: SourceKind, name: str | None, value: str, how: str) -> CredentialResolution:
        register_secret(value)
        return CredentialResolution(
            provider=pid,
            status="available",
            source_kind=kind,
            source_name=name,
            required=required,
            conventional_fallbacks=fallbacks,
            diagnostic=f"credential for {pid!r} from {how}.{shadow_note}",
            implicit_env_allowed=env_allowed,
            implicit_keyring_allowed=keyring_allowed,
            _secret=value,
        )

    if explicit:
        return found("explicit", explicit_source, explicit, "the key given in code")
    if auth.type != "none":
        environ = (os.environ if env is None else env) if env_allowed else {}
        for name in required:
            value = environ.get(name)
            if value:
                return found("manifest_env", name, value, f"${name}")
        for name in fallbacks:
            value = environ.get(name)
            if value:
                return found("conventional_env", name, value, f"${name}")
        if keyring_allowed:
            value = (keyring_get or _keyring_get)(KEYRING_SERVICE, pid)
            if value:
                return found("keyring", KEYRING_SERVICE, value, "the OS keyring")
    return CredentialResolution(
        provider=pid,
        status="missing",
        source_kind="none",
        source_name=None,
        required=required,
        conventional_fallbacks=fallbacks,
        diagnostic=_missing_message(pid, auth.type, required, fallbacks, env_allowed,
                                    keyring_allowed) + shadow_note,
        implicit_env_allowed=env_allowed,
        implicit_keyring_allowed=keyring_allowed,
    )


def _shadow_note(shadowed: tuple[str, ...]) -> str:
    if not shadowed:
        return ""
    names = ", ".join(shadowed)
    return (
        f" The manifest's top-level 'auth' block ({names}) is shadowed by 'endpoint.auth' "
        "and not read; remove it from the manifest."
    )


def _missing_message(
    pid: str,
    auth_type: str,
    required: tuple[str, ...],
    fallbacks: tuple[str, ...],
    env_allowed: bool,
    keyring_allowed: bool,
) -> str:
    if auth_type == "none":
        return f"provider {pid!r} declares no authentication; no credential is needed."
    if not env_allowed:
        return f"no credential for {pid!r}: this host only accepts a key passed in code."
    names = [*required, *fallbacks]
    first = names[0]
    others = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
    where = f"set {first}{others}, pass api_key=..."
    if keyring_allowed:
        where += f", or store it in the OS keyring (service {KEYRING_SERVICE!r}, user {pid!r})"
    return f"no credential for {pid!r}: {where}."


def attach_auth(
    manifest: ProtocolManifest, secret: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters that carry ``secret`` per the manifest's auth spec."""
    auth = manifest.auth
    register_secret(secret)
    headers: dict[str, str] = dict(auth.extra_headers)
    query: dict[str, str] = {}
    if auth.type == "bearer":
        header = auth.header or "Authorization"
        headers[header] = f"{auth.prefix} {secret}" if auth.prefix else secret
    elif auth.type == "custom_header":
        headers[auth.header] = f"{auth.prefix} {secret}" if auth.prefix else secret
    elif auth.type == "query_param":
        query[auth.param_name or "key"] = secret
    return headers, query
