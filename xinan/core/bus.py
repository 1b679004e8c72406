"""A small cross-process bus: "something was committed under this topic", nothing more.

    bus.publish("assessment.scored")          # inside the transaction that wrote the rows
    listener = bus.listen(["assessment.scored"])
    listener.wait(timeout=1.0)                 # True when notified (or reconnected), else False

It carries no data: a notification only says "look now". The rows themselves (the outbox) stay
the source of truth, and every consumer still polls at a slower pace, so a dropped notification
delays work but never loses it.

Backends (`BUS_BACKEND`, from `XINAN_BUS`; see docs/configuration.md):

- `local`: a threading.Event per listener in this process, set when the transaction commits.
  The zero-configuration default on SQLite; it does not cross processes.
- `postgres`: `SELECT pg_notify(channel, topic)` inside the emitting transaction, so PostgreSQL
  delivers it on commit and drops it on rollback; each listener `LISTEN`s on its own psycopg
  connection. The default when the database is PostgreSQL.
- `redis`: `PUBLISH channel topic` right after the commit (`on_commit`), and a pubsub
  subscriber per listener (`BUS_REDIS_URL`).

A listener whose connection drops reconnects on its next wait and then reports a wake-up,
because notifications sent while it was away are lost and the caller should look for itself.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

log = logging.getLogger(__name__)

BACKENDS = ("local", "postgres", "redis")
# Longest single block inside wait(): how soon an interrupt() or a dead connection is noticed.
SLICE_SECONDS = 0.25
RECONNECT_PAUSE_SECONDS = 0.5


def backend_name() -> str:
    name = getattr(settings, "BUS_BACKEND", "") or ""
    if not name:
        vendor = connections[DEFAULT_DB_ALIAS].vendor
        name = "postgres" if vendor == "postgresql" else "local"
    if name not in BACKENDS:
        raise ImproperlyConfigured(f"XINAN_BUS must be one of {', '.join(BACKENDS)}, not {name!r}")
    return name


def channel() -> str:
    return getattr(settings, "BUS_CHANNEL", "") or "xinan"


def publish(topic: str, *, using: str | None = None) -> None:
    """Announce `topic` to every listener once the current transaction commits.

    Outside a transaction the announcement goes out at once.
    """
    name = backend_name()
    if name == "postgres":
        # Inside the transaction: PostgreSQL queues it and delivers it only on commit.
        with connections[using or DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel(), topic])
    elif name == "redis":
        transaction.on_commit(lambda: _redis_publish(topic), using=using)
    else:
        transaction.on_commit(lambda: _local_publish(topic), using=using)


def listen(topics: Iterable[str]) -> "Listener":
    """A listener for `topics`, subscribed before it returns (nothing committed after is missed)."""
    name = backend_name()
    if name == "postgres":
        return PostgresListener(topics)
    if name == "redis":
        return RedisListener(topics)
    return LocalListener(topics)


class Listener(Protocol):
    topics: frozenset[str]

    def wait(self, timeout: float) -> bool: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class _Base:
    def __init__(self, topics: Iterable[str]):
        self.topics = frozenset(topics)
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        """Make the current (or next) wait() return True at once; for shutting a loop down."""
        self._interrupted.set()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._interrupted.is_set():
                self._interrupted.clear()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._wait_slice(min(remaining, SLICE_SECONDS)):
                return True

    def _wait_slice(self, timeout: float) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- local ------------------------------------------------------------------------------------

_local_listeners: set["LocalListener"] = set()
_local_lock = threading.Lock()


def _local_publish(topic: str) -> None:
    with _local_lock:
        listeners = [x for x in _local_listeners if topic in x.topics]
    for listener in listeners:
        listener._event.set()


class LocalListener(_Base):
    def __init__(self, topics: Iterable[str]):
        super().__init__(topics)
        self._event = threading.Event()
        with _local_lock:
            _local_listeners.add(self)

    def _wait_slice(self, timeout: float) -> bool:
        if self._event.wait(timeout):
            self._event.clear()
            return True
        return False

    def interrupt(self) -> None:
        super().interrupt()
        self._event.set()

    def close(self) -> None:
        with _local_lock:
            _local_listeners.discard(self)


# -- PostgreSQL -------------------------------------------------------------------------------


class PostgresListener(_Base):
    """LISTEN on a connection of its own (autocommit), to the same database Django uses."""

    def __init__(self, topics: Iterable[str], using: str = DEFAULT_DB_ALIAS):
        super().__init__(topics)
        self._using = using
        self._conn = None
        self._connect()

    def _connect(self) -> bool:
        import psycopg
        from psycopg import sql

        try:
            params = connections[self._using].get_connection_params()
            conn = psycopg.connect(**params, autocommit=True)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel())))
        except psycopg.Error as exc:
            log.warning("bus: cannot listen on PostgreSQL (%s); retrying", exc)
            self._conn = None
            return False
        self._conn = conn
        return True

    def _wait_slice(self, timeout: float) -> bool:
        import psycopg

        if self._conn is None or self._conn.closed:
            if self._connect():
                return True  # back, but deaf while away: tell the caller to look
            time.sleep(min(timeout, RECONNECT_PAUSE_SECONDS))
            return False
        try:
            with contextlib.closing(self._conn.notifies(timeout=timeout, stop_after=1)) as gen:
                heard = any(n.payload in self.topics for n in gen)
        except psycopg.Error as exc:
            log.warning("bus: PostgreSQL listener lost its connection (%s); reconnecting", exc)
            self._drop()
            return False
        if heard:
            self._drain()  # after the generator above is closed: it holds the connection's lock
        return heard

    def _drain(self) -> None:
        # Several commits in quick succession are one wake-up.
        with contextlib.suppress(Exception):
            for _ in self._conn.notifies(timeout=0):
                pass

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    @property
    def backend_pid(self) -> int | None:
        return self._conn.info.backend_pid if self._conn is not None else None

    def close(self) -> None:
        self._drop()


# -- Redis ------------------------------------------------------------------------------------

_redis_client = None
_redis_lock = threading.Lock()


def redis_url() -> str:
    return getattr(settings, "BUS_REDIS_URL", "") or "redis://127.0.0.1:6379/0"


def _redis():
    """One client (a thread-safe connection pool) per process and URL."""
    global _redis_client
    import redis

    url = redis_url()
    with _redis_lock:
        if _redis_client is None or _redis_client[0] != url:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            _redis_client = (url, client)
        return _redis_client[1]


def _redis_publish(topic: str) -> None:
    # After the commit: a failure here must not fail the request whose rows are already saved;
    # the consumers' poll finds them.
    try:
        _redis().publish(channel(), topic)
    except Exception as exc:  # noqa: BLE001
        log.warning("bus: Redis publish of %s failed (%s); consumers will poll", topic, exc)


class RedisListener(_Base):
    def __init__(self, topics: Iterable[str]):
        super().__init__(topics)
        self._pubsub = None
        self._channel = channel()
        self._subscribe()

    def _subscribe(self) -> bool:
        import redis

        try:
            pubsub = _redis().pubsub()
            pubsub.subscribe(self._channel)
            # Read the server's confirmation, so a publish right after listen() is not missed.
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                message = pubsub.get_message(timeout=0.1)
                if message and message.get("type") == "subscribe":
                    break
        except (redis.RedisError, OSError) as exc:
            log.warning("bus: cannot subscribe on Redis (%s); retrying", exc)
            self._pubsub = None
            return False
        self._pubsub = pubsub
        return True

    def _wait_slice(self, timeout: float) -> bool:
        import redis

        if self._pubsub is None:
            if self._subscribe():
                return True
            time.sleep(min(timeout, RECONNECT_PAUSE_SECONDS))
            return False
        try:
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        except (redis.RedisError, OSError) as exc:
            log.warning("bus: Redis subscriber lost its connection (%s); reconnecting", exc)
            self._drop()
            return False
        if message and message.get("type") == "message":
            data = message["data"]
            topic = data.decode() if isinstance(data, bytes) else str(data)
            if topic in self.topics:
                self._drain()
                return True
        return False

    def _drain(self) -> None:
        with contextlib.suppress(Exception):
            while self._pubsub.get_message(timeout=0) is not None:
                pass

    def _drop(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                self._pubsub.close()
        self._pubsub = None

    def close(self) -> None:
        self._drop()
