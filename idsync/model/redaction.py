"""Which attribute values are secrets, and how they are hidden wherever objects are shown or recorded.

An initial password flows out like any other attribute, so without this it would sit in the audit trail, in
``idsync show`` and in the web UI. The names below are the write-only password attributes of the directories
idsync talks to; a connector adds its own through ``Capabilities.secret_attributes`` (for example an LDAP
connector configured with another password attribute). Names compare without case, as directories do.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

WELL_KNOWN_SECRETS = frozenset(
    name.casefold()
    for name in (
        "userPassword",  # LDAP (RFC 4519), OpenLDAP, 389 DS
        "unicodePwd",  # Active Directory
        "clearTextPassword",
        "passwordProfile",  # Microsoft Graph users (holds the password)
        "password",
        "initialPassword",
        "newPassword",
        "oldPassword",
    )
)


@dataclass(frozen=True, slots=True)
class SecretAttributes:
    """A case-insensitive set of attribute names whose values are never shown or recorded."""

    names: frozenset[str] = WELL_KNOWN_SECRETS

    @classmethod
    def with_extra(cls, extra: Iterable[str]) -> SecretAttributes:
        return cls(WELL_KNOWN_SECRETS | {name.casefold() for name in extra})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self.names

    def attributes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of an attribute mapping with secret values replaced (a present secret stays visibly present)."""
        return {k: (REDACTED if v is not None and k in self else v) for k, v in values.items()}

    def changes(self, changes: Iterable[Any]) -> list[Any]:
        """A copy of a change list in its JSON form (``[name, op, values, rule]``) with secret values replaced."""
        out: list[Any] = []
        for change in changes:
            if isinstance(change, list | tuple) and len(change) >= 3 and change[0] in self:
                values = change[2]
                hidden = [REDACTED for _ in values] if isinstance(values, list) else REDACTED
                out.append([change[0], change[1], hidden, *change[3:]])
            else:
                out.append(change)
        return out


DEFAULT_SECRETS = SecretAttributes()


MIN_SCRUBBED = 4
"""Secret values shorter than this are not searched for in messages: they would mangle ordinary words."""


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every occurrence of the ``secrets`` (the resolved values of a connector's secret references:
    a client secret, a bind password) replaced by ``[redacted]``, also URL-encoded and JSON-escaped, as a system
    echoing a request back would quote them. For messages from connected systems, which may quote anything they
    were sent, before they are recorded or logged."""
    if not text:
        return text
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) < MIN_SCRUBBED:
            continue
        for form in {secret, quote_plus(secret), quote(secret, safe=""), json.dumps(secret)[1:-1]}:
            text = text.replace(form, REDACTED)
    return text


class SecretHidingHandler(logging.StreamHandler[TextIO]):
    """The log handler a process installs (the command line's stderr lines, the service's JSON lines): every line
    it writes has the secret values it was told about replaced (``scrub``), whatever part of the line quotes them —
    a connector's message, an exception's text in a traceback, a context field. The values live on this instance,
    given by whoever resolved them (``hide``), so they go when the handler goes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._secrets: frozenset[str] = frozenset()
        self._adding = threading.Lock()

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def hide(self, values: Iterable[str]) -> None:
        """Add secret values (a reloaded configuration's come on top: a run may still use the old ones)."""
        with self._adding:
            self._secrets = self._secrets | frozenset(values)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        secrets = self._secrets
        return (scrub(line, secrets) or line) if secrets else line
