"""Access: one token, configured as a secret reference; browsers trade it for a session cookie at /login.

API clients send ``Authorization: Bearer <token>``: none is 401, a wrong one 403. The dashboard's login form takes
the token once and sets an HttpOnly, SameSite=Strict session cookie holding a random session id (never the token);
requests that change something with a cookie must also carry the session's CSRF token. Sessions live in this
process only: restarting the service logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "idsync_session"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN_LENGTH = 16
FAILURES_PER_MINUTE = 10


class TokenTooShort(ValueError):
    pass


@dataclass
class Session:
    csrf: str
    expires: float


@dataclass
class Access:
    token: str
    sessions: dict[str, Session] = field(default_factory=dict)
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_LENGTH:
            raise TokenTooShort(
                f"the service token is too short ({len(self.token)} characters); use at least {MIN_TOKEN_LENGTH} "
                "random characters, for example the output of `openssl rand -hex 32`"
            )

    def token_matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode("utf-8"), self.token.encode("utf-8"))

    # login throttling: a guessed token costs a minute per ten tries ---------------------------------------------
    def throttled(self, client: str) -> bool:
        now = time.time()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < 60]
            self._failures[client] = recent
            return len(recent) >= FAILURES_PER_MINUTE

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.time())

    # sessions ------------------------------------------------------------------------------------------------
    def open_session(self) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        session = Session(secrets.token_urlsafe(24), time.time() + SESSION_SECONDS)
        with self._lock:
            now = time.time()
            for old in [k for k, v in self.sessions.items() if v.expires < now]:
                del self.sessions[old]
            self.sessions[sid] = session
        return sid, session

    def session(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            found = self.sessions.get(sid)
            if found is None or found.expires < time.time():
                self.sessions.pop(sid, None)
                return None
            return found

    def close_session(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self.sessions.pop(sid, None)
