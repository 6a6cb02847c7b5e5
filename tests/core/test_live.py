"""Live events leave the API worker after the answer, many per Redis round trip (core.live)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from core.live import QueuedRedisManager


@pytest.fixture
def channel() -> str:
    return f"test-live-{secrets.token_hex(4)}"


@pytest.fixture
def listener(redis_url: str, channel: str) -> Iterator[Any]:
    """A Socket.IO server's side of the queue: a subscriber to the channel."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    yield pubsub
    pubsub.close()
    client.close()


def received(pubsub: Any, count: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(messages) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None:
            messages.append(json.loads(message["data"]))
    return messages


def signature(n: int) -> dict[str, Any]:
    return {"event": "sign_in", "signer_id": f"trainee-{n}", "half_day": "am"}


def test_every_event_reaches_the_socketio_servers_in_order(redis_url, channel, listener):
    manager = QueuedRedisManager(redis_url, channel=channel)
    for n in range(50):
        manager.emit("signature", signature(n), namespace="/live", room="session:s1")
    assert manager.flush()
    messages = received(listener, 50)
    assert [m["data"][0]["signer_id"] for m in messages] == [f"trainee-{n}" for n in range(50)]
    # RedisManager's own message format: the Socket.IO servers emit it to the room.
    first = messages[0]
    assert (first["method"], first["event"], first["namespace"], first["room"]) == (
        "emit",
        "signature",
        "/live",
        "session:s1",
    )


def test_events_queued_together_leave_in_one_pipeline(redis_url, channel, listener):
    manager = QueuedRedisManager(redis_url, channel=channel, linger_s=0.2)
    sent: list[int] = []
    manager._redis_connect()
    real_pipeline = manager.redis.pipeline

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = real_pipeline(*args, **kwargs)
        real_execute = pipe.execute

        def execute() -> Any:
            sent.append(len(pipe.command_stack))
            return real_execute()

        pipe.execute = execute
        return pipe

    manager.redis.pipeline = counting_pipeline
    for n in range(20):  # well within the 0.2 s the thread waits after the first
        manager.emit("signature", signature(n), namespace="/live", room="session:s1")
    assert manager.flush()
    assert len(received(listener, 20)) == 20
    assert sent == [20]


def test_a_forked_worker_starts_its_own_sender(redis_url, channel, listener):
    """gunicorn forks workers: the parent's thread does not follow; the first event in the
    child starts one (simulated: the queue's owner is another process)."""
    manager = QueuedRedisManager(redis_url, channel=channel)
    manager.emit("signature", signature(1), namespace="/live", room="session:s1")
    assert manager.flush()
    manager._owner = -1  # as in a child process after fork
    manager.emit("signature", signature(2), namespace="/live", room="session:s1")
    assert manager.flush()
    assert [m["data"][0]["signer_id"] for m in received(listener, 2)] == ["trainee-1", "trainee-2"]


def test_redis_down_never_fails_the_request_that_emits():
    """A live event is a notice: with Redis unreachable the emitting request goes on (the
    signature is already committed), and the sender gives up after one retry."""
    manager = QueuedRedisManager(
        "redis://127.0.0.1:1/0", channel="nowhere", redis_options={"socket_connect_timeout": 0.2}
    )
    started = time.monotonic()
    manager.emit("signature", signature(1), namespace="/live", room="session:s1")
    assert time.monotonic() - started < 0.1  # the request did not wait for Redis
    assert manager.flush(timeout_s=5.0)  # given up on, not stuck
    manager.emit("signature", signature(2), namespace="/live", room="session:s1")
    assert manager.flush(timeout_s=5.0)  # the sender survived
