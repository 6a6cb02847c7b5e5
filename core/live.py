"""Live events from the API workers to the Socket.IO servers, sent after the answer.

An API worker publishes each live event (a signature for the trainer's screen) to the Redis
channel that the Socket.IO servers listen to. Sending it inside the request would cost the
request a Redis round trip; here the request only queues it, and one thread per worker process
sends what queued up meanwhile in one pipeline (one round trip for many events). The Socket.IO
servers publish their own emits the same way (a class's chat message reaches the clients of
the process at once, and the other processes through the queue), without the linger.

A live event is a notice, not a record: the signature is committed before its event is queued,
and the trainer's page reloads the list from the database when its connection comes back. An
event still queued when the process ends is sent first (`flush`, registered with atexit).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from queue import Empty, SimpleQueue
from typing import Any

from socketio import RedisManager

# Redis must not hold a request: a connection it does not accept within this time fails, and
# the event is dropped and logged (a live event is a notice; the page reloads its list).
CONNECT_TIMEOUT_S = 0.5


class QueuedRedisManager(RedisManager):
    """A `socketio.RedisManager` whose publishing happens on a background thread (a greenlet
    in the gevent Socket.IO servers, whose worker patches `threading`, `time` and `queue`).

    python-socketio's documented way to change how a pub/sub manager sends is to override
    `_publish`; everything else (the message format, `emit` to rooms) is RedisManager's own.
    `linger_s`: how long the thread lets events gather after the first one of a batch (a
    trainer's screen shows a signature 25 ms later than it could; a worker answering 170
    sign-ins a second sends about four events per round trip instead of one). `write_only`:
    API workers only publish; a Socket.IO server also listens (RedisManager's own listener).
    """

    connected: bool  # RedisManager's: whether its client is set up

    def __init__(
        self,
        url: str,
        channel: str = "socketio",
        *,
        write_only: bool = True,
        linger_s: float = 0.025,
        batch: int = 500,
        **options: Any,
    ) -> None:
        super().__init__(url, channel=channel, write_only=write_only, **options)
        self.linger_s = linger_s
        self.batch = batch
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._owner: int | None = None  # pid whose thread drains the queue
        self._start_lock = threading.Lock()

    def _publish(self, data: Any) -> None:
        self._ensure_thread()
        self._queue.put(data)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued before this call was sent (or given up on)."""
        if self._owner != os.getpid():
            return True  # nothing was queued in this process
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def _ensure_thread(self) -> None:
        # A worker forked from a process that published has the queue but not the thread.
        if self._owner == os.getpid():
            return
        with self._start_lock:
            if self._owner == os.getpid():
                return
            self._queue = SimpleQueue()
            threading.Thread(target=self._drain, name="live-events", daemon=True).start()
            self._owner = os.getpid()
            atexit.register(self.flush)

    def _drain(self) -> None:
        queue = self._queue
        while True:
            items = [queue.get()]
            time.sleep(self.linger_s)  # let the events of concurrent answers join this batch
            while len(items) < self.batch:
                try:
                    items.append(queue.get_nowait())
                except Empty:
                    break
            self._send([item for item in items if not isinstance(item, threading.Event)])
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()

    def _send(self, messages: list[Any]) -> None:
        """One pipeline for the batch; on a Redis error, reconnect and try once more."""
        if not messages:
            return
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                assert self.redis is not None  # noqa: S101 - set by _redis_connect
                pipe = self.redis.pipeline(transaction=False)
                for data in messages:
                    pipe.publish(self.channel, self.json.dumps(data))
                pipe.execute()
                return
            except Exception as exc:  # noqa: BLE001 - the thread must survive any failure
                self.connected = False
                self._get_logger().error(
                    "Cannot publish %d live event(s) to Redis%s: %s",
                    len(messages),
                    "... retrying" if retries_left else "; dropped",
                    exc,
                )


def live_events(url: str, write_only: bool, channel: str = "flask-socketio") -> RedisManager:
    """The Socket.IO client manager over Redis.

    API workers (`write_only`) only publish to the live screens; they never hold Socket.IO
    clients, so they need no listener on the queue (which would receive every event), and they
    publish after the answer, from a thread, many events per round trip. The Socket.IO servers
    listen, and publish their emits from a thread too (no linger: what queued while the thread
    waited for Redis goes in the next pipeline), so that a handler never waits on Redis: a
    round trip per chat message was a fifth of a class server's CPU. Both give up quickly on
    a Redis that is down: the sender logs and drops the event,
    and python-socketio's listener logs and reconnects with a growing delay. `channel`: Redis
    pub/sub ignores the database number, so deployments (or test runs) sharing one Redis need
    channels of their own (SOCKETIO_CHANNEL).
    """
    redis_options = {"socket_connect_timeout": CONNECT_TIMEOUT_S}
    if write_only:
        redis_options["socket_timeout"] = CONNECT_TIMEOUT_S
        return QueuedRedisManager(url, channel=channel, redis_options=redis_options)
    return QueuedRedisManager(
        url, channel=channel, write_only=False, linger_s=0.0, redis_options=redis_options
    )
