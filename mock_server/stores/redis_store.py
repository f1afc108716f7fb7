"""A SessionStore in Redis, for one mock shared by many hosts behind a load balancer.

Every key starts with a namespace and the application id (`csm:app:7:session:s-1`), so several
mocks and applications can share one Redis database. Each operation that reads and then writes
is one Lua script, which Redis runs atomically: a compare-and-set save can never interleave
with another. Expiry (`ttl`) and update marks use Redis' own clock, the same for every host.
"""

from __future__ import annotations

from typing import Any

import redis

from mock_server.core.domain import CustomerSession
from mock_server.core.store import Revision, StaleWrite
from mock_server.stores.failures import unavailable_on
from mock_server.wire.codec import dumps_session, loads_session

DEFAULT_NAMESPACE = "csm"

# KEYS: session, index of the application's sessions, set of applications, profile claim.
# ARGV: expected version ("" = absent), body, integration id, application id, ttl in ms (0 =
# none), profile id ("" = anonymous). Returns the new version, or 0 when the version differs.
_SAVE = """
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
    if current then return 0 end
elseif current ~= ARGV[1] then
    return 0
end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'version', version, 'body', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
local ttl = tonumber(ARGV[5])
if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
    if ARGV[6] ~= '' then redis.call('PEXPIRE', KEYS[4], ttl) end
end
return version
"""

# KEYS: profile claim. ARGV: integration id, ttl in ms (0 = none). Returns the claimant.
_CLAIM = """
local claimed = redis.call('GET', KEYS[1])
if claimed then return claimed end
if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
    redis.call('SET', KEYS[1], ARGV[1])
end
return ARGV[1]
"""

# KEYS: update mark. ARGV: token, ttl in ms. Returns 1 when the caller holds the mark.
_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS: update mark. ARGV: token. Deletes the mark only if the caller still holds it.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# Redis unreachable, timing out or refusing writes: the operation fails, the mock keeps serving.
@unavailable_on(redis.RedisError)
class RedisSessionStore:
    """Sessions, profile claims and update marks in one Redis database.

    Args:
        client: a redis-py client (`redis.Redis.from_url(...)`); its connection pool is
            thread-safe and reconnects after fork().
        namespace: the prefix of every key, so several mocks can share one database.
        ttl: seconds after its last write that a session (and its profile's claim) expires;
            None keeps them forever.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl: float | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self._ttl_ms = max(1, round(ttl * 1000)) if ttl is not None else 0
        self._save = client.register_script(_SAVE)
        self._claim = client.register_script(_CLAIM)
        self._lock = client.register_script(_LOCK)
        self._unlock = client.register_script(_UNLOCK)

    @classmethod
    def from_url(
        cls, url: str, *, namespace: str = DEFAULT_NAMESPACE, ttl: float | None = None
    ) -> RedisSessionStore:
        """A store on the Redis server of `redis://host:port/db`."""
        return cls(redis.Redis.from_url(url), namespace=namespace, ttl=ttl)

    def _key(self, application_id: int, kind: str, name: str = "") -> str:
        key = f"{self.namespace}:app:{application_id}:{kind}"
        return f"{key}:{name}" if name else key

    def _applications_key(self) -> str:
        return f"{self.namespace}:applications"

    def get(self, application_id: int, integration_id: str) -> Revision | None:
        version, body = self.client.hmget(
            self._key(application_id, "session", integration_id), ["version", "body"]
        )
        if version is None or body is None:
            return None
        return Revision(loads_session(body), int(version))

    def save(self, session: CustomerSession, expected_version: int | None) -> Revision:
        app = session.application_id
        keys = [
            self._key(app, "session", session.integration_id),
            self._key(app, "sessions"),
            self._applications_key(),
            self._key(app, "profile", session.profile_id),
        ]
        args: list[Any] = [
            "" if expected_version is None else str(expected_version),
            dumps_session(session),
            session.integration_id,
            str(app),
            str(self._ttl_ms),
            session.profile_id,
        ]
        version = int(self._save(keys=keys, args=args))
        if version == 0:
            raise StaleWrite(app, session.integration_id)
        return Revision(session, version)

    def delete(self, application_id: int, integration_id: str) -> bool:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(application_id, "session", integration_id))
            pipe.srem(self._key(application_id, "sessions"), integration_id)
            deleted, _ = pipe.execute()
        return int(deleted) == 1

    def list(self, application_id: int | None = None) -> list[CustomerSession]:
        if application_id is None:
            applications = sorted(int(a) for a in self.client.smembers(self._applications_key()))
        else:
            applications = [application_id]
        sessions: list[CustomerSession] = []
        for app in applications:
            index = self._key(app, "sessions")
            ids = sorted(_text(member) for member in self.client.smembers(index))
            with self.client.pipeline(transaction=False) as pipe:
                for integration_id in ids:
                    pipe.hget(self._key(app, "session", integration_id), "body")
                bodies = pipe.execute()
            expired = [i for i, body in zip(ids, bodies, strict=True) if body is None]
            if expired:
                # Expired sessions leave their id in the index; tidy it while we are here.
                self.client.srem(index, *expired)
            sessions.extend(loads_session(body) for body in bodies if body is not None)
        return sorted(sessions, key=lambda s: (s.created, s.application_id, s.integration_id))

    def claim_profile(self, application_id: int, profile_id: str, integration_id: str) -> str:
        claimed = self._claim(
            keys=[self._key(application_id, "profile", profile_id)],
            args=[integration_id, str(self._ttl_ms)],
        )
        return _text(claimed)

    def first_session_of(self, application_id: int, profile_id: str) -> str | None:
        claimed = self.client.get(self._key(application_id, "profile", profile_id))
        return _text(claimed) if claimed is not None else None

    def clear(self) -> None:
        # Only this namespace: other mocks may share the database.
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=f"{self.namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self.client.unlink(*batch)
                batch.clear()
        if batch:
            self.client.unlink(*batch)

    def try_lock(self, application_id: int, integration_id: str, token: str, ttl: float) -> bool:
        held = self._lock(
            keys=[self._key(application_id, "mark", integration_id)],
            args=[token, str(max(1, round(ttl * 1000)))],
        )
        return int(held) == 1

    def unlock(self, application_id: int, integration_id: str, token: str) -> None:
        self._unlock(keys=[self._key(application_id, "mark", integration_id)], args=[token])

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
