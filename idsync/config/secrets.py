"""Secret references: the only form a secret may take in a configuration.

A secret is written as ``${env:NAME}`` or ``${file:PATH}`` and resolved at the moment a connector needs it. The
resolved text never goes back into a model, a log line, the store or an exception message: only the reference does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

REFERENCE = re.compile(r"^\$\{(env|file):([^}]+)\}$")
LOOKS_LIKE_REFERENCE = re.compile(r"^\s*\$\{|^\s*\$?\{?\s*(env|file)\s*:", re.IGNORECASE)
"""A text that was meant to be a reference (``${env:X``, ``${envv:X}``, ``{env:X}``), not a typed-in secret."""
FORMS = "${env:NAME} or ${file:PATH}"


class SecretError(Exception):
    """A reference that cannot be resolved. The message names the reference, never a value."""


def check_reference(text: str) -> str:
    """``text`` when it is a secret reference; a typed-in secret or a malformed reference raises ValueError
    (pydantic's way of failing a field) without repeating the value."""
    if not REFERENCE.match(text):
        if LOOKS_LIKE_REFERENCE.search(text):
            raise ValueError(
                f"this looks like a malformed secret reference; the accepted forms are {FORMS} (a name and a path "
                "cannot be empty or hold '}')"
            )
        raise ValueError(f"secrets must be references, not values: write {FORMS} (the value you typed was not kept)")
    return text


@dataclass(frozen=True, slots=True)
class SecretResolver:
    """Resolves references against the environment and files, relative to the workspace."""

    workspace: Path
    environ: dict[str, str] | None = None

    def resolve(self, reference: str) -> str:
        match = REFERENCE.match(reference.strip())
        if match is None:
            raise SecretError(f"not a secret reference; write {FORMS}")
        kind, name = match.groups()
        if kind == "env":
            env = self.environ if self.environ is not None else os.environ
            if name not in env:
                raise SecretError(f"${{env:{name}}}: the environment variable {name} is not set")
            return env[name]
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.workspace / path
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"${{file:{name}}}: cannot read the file ({exc.strerror})") from None


def is_reference(text: str) -> bool:
    return bool(REFERENCE.match(text))


def url_password(url: str) -> str | None:
    """The password part of a URL (``scheme://user:PASSWORD@host/db``), as written; None when it has none."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def check_url_password(url: str) -> str:
    """A password in a URL (the store's) is a secret like any other: only a reference may stand there."""
    password = url_password(url)
    if password:
        try:
            check_reference(password)
        except ValueError as exc:
            raise ValueError(
                f"the password in the URL: {exc}; for example postgresql://USER:${{file:PATH}}@HOST/DB"
            ) from None
    return url


def resolve_url_password(url: str, resolver: SecretResolver) -> str:
    """``url`` with the secret reference in its password part replaced by the secret, percent-encoded so that any
    character may be in it. The result holds a secret: it goes to the driver and nowhere else."""
    password = url_password(url)
    if password is None or not is_reference(password):
        return url
    secret = quote(resolver.resolve(password), safe="")
    return url.replace(f":{password}@", f":{secret}@", 1)
