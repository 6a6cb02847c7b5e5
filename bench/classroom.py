"""The virtual class under load (issue 11, point 8): rooms of 16 trainees, each sending one chat
message a second; every message must reach the 16 people of its room, and the broadcast
latency (sent → received, one clock: the clients share this process) is measured.

The Socket.IO servers are the production layout (README): gunicorn gevent workers, one process
each, on Redis (Flask-SocketIO's message queue); with two processes each room's clients are
split between them, so that every broadcast crosses Redis. The clients are raw Socket.IO over
WebSocket (wsproto on asyncio: hundreds of connections in one process).

`python -m bench.classroom` runs it alone (after `make bench-venv`); `make bench` runs it last.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from bench import settings

NS = "/class"
ROOM_SIZE = 16
ROOMS = int(os.environ.get("BENCH_CLASS_ROOMS", "50"))
SECONDS = float(os.environ.get("BENCH_CLASS_SECONDS", "15"))
# The capacity search: rooms per step (ascending, up to the issue's 50 and beyond), each at
# 1 message/s per client; a process count stops once overloaded (GIVE_UP_P99_MS).
STEPS = tuple(
    sorted(
        {int(n) for n in os.environ.get("BENCH_CLASS_STEPS", "10,20,30,40,50,60").split(",")}
        | {ROOMS}
    )
)
TARGET_P99_MS = 200.0
# A step this late (or whose clients cannot all join) ends the process count's steps.
GIVE_UP_P99_MS = 2000.0
PROD_PYTHON = settings.ROOT / ".venv-prod" / "bin" / "python"
MARK_BEGIN = "<!-- virtualclass bench: begin -->"
MARK_END = "<!-- virtualclass bench: end -->"


@dataclass
class Tally:
    """Messages sent and their deliveries, with each delivery's latency."""

    sent: dict[str, int] = field(default_factory=dict)  # message id → expected deliveries
    received: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    refused: int = 0  # clients that could not connect and join within 30 s

    def delivered(self) -> tuple[int, int]:
        expected = sum(self.sent.values())
        got = sum(min(self.received.get(k, 0), n) for k, n in self.sent.items())
        return got, expected

    def p(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


class Client:
    """One participant: a WebSocket Socket.IO connection to `/class`, joined to one room."""

    def __init__(self, host: str, port: int, token: str, session_id: str, tally: Tally) -> None:
        self.host, self.port, self.token, self.session_id = host, port, token, session_id
        self.tally = tally
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.next_ack = 0
        self.connected = asyncio.Event()
        self.buffer = ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.recording = False

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = "/socket.io/?EIO=4&transport=websocket"
        self._send_raw(self.ws.send(Request(host=f"{self.host}:{self.port}", target=target)))
        asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(self.connected.wait(), 30)
        answer = await self.call("join", {"session_id": self.session_id})
        if not answer.get("ok"):
            raise RuntimeError(f"join refused: {answer}")

    def _send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    def _send(self, text: str) -> None:
        self._send_raw(self.ws.send(TextMessage(data=text)))

    async def call(self, event: str, body: dict[str, Any]) -> Any:
        self.next_ack += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self.next_ack] = future
        self._send(f"42{NS},{self.next_ack}" + json.dumps([event, body]))
        return await asyncio.wait_for(future, 30)

    def chat(self, message_id: str) -> None:
        body = {"session_id": self.session_id, "text": message_id, "sent": time.monotonic()}
        self._send(f"42{NS}," + json.dumps(["chat", body]))

    async def _read(self) -> None:
        assert self.reader is not None
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    pass
                elif isinstance(event, TextMessage):
                    self.buffer += event.data
                    if event.message_finished:
                        self._packet(self.buffer)
                        self.buffer = ""
                elif isinstance(event, Ping):
                    self._send_raw(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection | RejectConnection):
                    return

    def _packet(self, text: str) -> None:
        kind = text[:1]
        if kind == "0":  # Engine.IO open: connect to the namespace with the token
            self._send(f"40{NS}," + json.dumps({"token": self.token}))
        elif kind == "2":  # Engine.IO ping
            self._send("3")
        elif text.startswith(f"40{NS},"):
            self.connected.set()
        elif text.startswith(f"44{NS},"):
            raise RuntimeError(f"connection refused: {text}")
        elif text.startswith(f"43{NS},"):
            rest = text[len(NS) + 3 :]
            number, _, payload = rest.partition("[")
            future = self.acks.pop(int(number), None)
            if future is not None and not future.done():
                future.set_result(json.loads("[" + payload)[0])
        elif text.startswith(f"42{NS},"):
            name, data = json.loads(text[len(NS) + 3 :])
            if name == "chat" and self.recording and isinstance(data.get("sent"), float):
                now = time.monotonic()
                self.tally.received[data["text"]] = self.tally.received.get(data["text"], 0) + 1
                self.tally.latencies_ms.append((now - data["sent"]) * 1000)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass(frozen=True)
class Outcome:
    label: str
    processes: int
    rooms: int
    clients: int
    seconds: float
    sent: int
    delivered: int
    expected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    refused: int
    server_cores: float  # the Socket.IO processes
    client_cores: float  # this process: the 16 × rooms clients
    other_cores: float  # other programs of the machine meanwhile

    @property
    def ok(self) -> bool:
        return not self.refused and self.delivered == self.expected and self.p99_ms < TARGET_P99_MS

    @property
    def messages_per_s(self) -> float:
        return self.sent / self.seconds


async def _drive(
    ports: list[int], rooms: list[tuple[str, list[str]]], seconds: float
) -> tuple[Tally, int]:
    """Connect every client (room by room, alternating servers), then each sends one message
    a second (random phase) for `seconds`; wait for the last deliveries."""
    tally = Tally()
    clients: list[Client] = []
    for session_id, tokens in rooms:
        for i, token in enumerate(tokens):
            clients.append(Client("127.0.0.1", ports[i % len(ports)], token, session_id, tally))
    for chunk in range(0, len(clients), 50):
        results = await asyncio.gather(
            *(c.start() for c in clients[chunk : chunk + 50]), return_exceptions=True
        )
        tally.refused += sum(1 for r in results if isinstance(r, BaseException))
    clients = [c for c in clients if c.connected.is_set()]
    await asyncio.sleep(1.0)  # the joins' presence broadcasts settle
    for client in clients:
        client.recording = True
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def speak(client: Client, n: int) -> None:
        await asyncio.sleep(random.random())
        tick = loop.time()
        count = 0
        while loop.time() - started < seconds:
            message_id = f"{n}-{count}"
            tally.sent[message_id] = ROOM_SIZE
            client.chat(message_id)
            count += 1
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - loop.time()))

    await asyncio.gather(*(speak(c, n) for n, c in enumerate(clients)))
    await asyncio.sleep(2.0)
    for client in clients:
        client.close()
    return tally, len(clients)


def rooms_from_database(app: Any, count: int) -> list[tuple[str, list[str]]]:
    """(session id, 16 trainee bearer tokens) for `count` open tutorat sessions."""
    from sqlalchemy import select

    from attendance.models import TrainingSession
    from core.db import utcnow
    from core.extensions import db
    from core.models import Invitation, Role
    from core.tokens import issue_token
    from training.models import Enrolment

    cfg, now, rooms = app.config, utcnow(), []
    with app.app_context():
        sessions = db.session.execute(
            select(TrainingSession.id, TrainingSession.group_id).order_by(TrainingSession.id)
        ).all()[:count]
        for session_id, group_id in sessions:
            people = db.session.execute(
                select(Enrolment.trainee_id, Invitation.id)
                .join(Invitation, Invitation.trainee_id == Enrolment.trainee_id)
                .where(Enrolment.group_id == group_id)
                .order_by(Enrolment.trainee_id)
            ).all()[:ROOM_SIZE]
            tokens = [
                issue_token(
                    cfg["JWT_SECRET"],
                    cfg["JWT_AUDIENCE"],
                    subject=trainee_id,
                    typ="trainee",
                    now=now,
                    ttl_s=3600,
                    claims={"role": Role.TRAINEE, "dev": invitation_id},
                )
                for trainee_id, invitation_id in people
            ]
            rooms.append((session_id, tokens))
        db.session.remove()
    return rooms


def measure(app: Any, env: dict[str, str], say: Any) -> list[Outcome]:
    """The issue's load on one process and on two, then the capacity of each (the most rooms
    whose messages all arrive with p99 < 200 ms), in the same run."""
    from bench import cpu
    from bench.server import Server

    if not PROD_PYTHON.exists():
        raise SystemExit("The Socket.IO servers need gevent: run `make bench-venv` first.")
    rooms = rooms_from_database(app, max(ROOMS, *STEPS))
    env = {
        **env,
        "SOCKETIO_WRITE_ONLY": "",
        "SOCKETIO_CHANNEL": f"bench-class-{secrets.token_hex(4)}",
        "CLASS_CHAT_RATE": "20/10 seconds",
    }
    outcomes: list[Outcome] = []
    for processes in (1, 2):
        servers = [
            Server(env, 1, "gevent", python=str(PROD_PYTHON), app="wsgi:app")
            for _ in range(processes)
        ]
        for server in servers:
            server.__enter__()
        try:
            pids = [pid for s in servers for pid in (s.pid, *s.worker_pids())]
            ports = [s.port for s in servers]
            asyncio.run(_drive(ports, rooms[: STEPS[0]], 3.0))  # warm-up, not counted
            for count in STEPS:
                before = cpu.snapshot(pids, settings.DATABASE_NAME)
                tally, clients = asyncio.run(_drive(ports, rooms[:count], SECONDS))
                used = cpu.usage(before, cpu.snapshot(pids, settings.DATABASE_NAME), pids)
                delivered, expected = tally.delivered()
                outcome = Outcome(
                    label=f"{processes} process{'es' if processes > 1 else ''}",
                    processes=processes,
                    rooms=count,
                    clients=clients,
                    seconds=SECONDS,
                    sent=len(tally.sent),
                    delivered=delivered,
                    expected=expected,
                    p50_ms=tally.p(50),
                    p99_ms=tally.p(99),
                    max_ms=max(tally.latencies_ms, default=float("nan")),
                    refused=tally.refused,
                    server_cores=used.cores("gunicorn"),
                    client_cores=used.cores("bench"),
                    other_cores=used.cores("other programs"),
                )
                outcomes.append(outcome)
                say(
                    f"{outcome.label}, {count} rooms ({clients} clients): "
                    f"{outcome.messages_per_s:,.0f} messages/s, delivered {delivered:,}/"
                    f"{expected:,}, p50 {outcome.p50_ms:.1f} ms, p99 {outcome.p99_ms:.1f} ms; "
                    f"servers {outcome.server_cores:.2f} cores, clients "
                    f"{outcome.client_cores:.2f}, other programs {outcome.other_cores:.2f}"
                    + (f"; {tally.refused} clients could not join" if tally.refused else "")
                )
                if outcome.refused or outcome.p99_ms > GIVE_UP_P99_MS:
                    break  # overloaded: larger steps would only pile up
                time.sleep(2.0)  # let the process settle before the next step
        finally:
            for server in servers:
                server.stop()
    return outcomes


def capacity(outcomes: list[Outcome], processes: int) -> Outcome | None:
    """The largest load of the capacity steps that `processes` carried within the target."""
    carried = [o for o in outcomes if o.processes == processes and o.ok]
    return max(carried, key=lambda o: o.rooms, default=None)


def render(outcomes: list[Outcome]) -> str:
    lines = [
        MARK_BEGIN,
        "## The virtual class: rooms of 16, one chat message a second each (issue 11)",
        "",
        f"Run of {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, `python -m bench.classroom` "
        "(also the last part of `make bench`). Servers: gunicorn, one gevent worker per process, "
        "Redis message queue; clients: raw Socket.IO over WebSocket in one asyncio process on the "
        f"same 2-core machine. {SECONDS:.0f} s per step; latency: sent → received by each of "
        "the room's 16 participants (the sender included).",
        "",
        "| processes | rooms | clients | messages/s | delivered | p50 ms | p99 ms | max ms | "
        "servers (cores) | clients (cores) | other programs (cores) | within target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.processes} | {o.rooms} | {o.clients} | {o.messages_per_s:,.0f} | "
            f"{o.delivered:,} / {o.expected:,} | {o.p50_ms:.1f} | {o.p99_ms:.1f} | "
            f"{o.max_ms:.1f} | {o.server_cores:.2f} | {o.client_cores:.2f} | "
            f"{o.other_cores:.2f} | {'yes' if o.ok else 'no'} |"
        )
    one, two = capacity(outcomes, 1), capacity(outcomes, 2)
    lines.append("")
    for processes in (1, 2):
        at_issue = [o for o in outcomes if o.processes == processes and o.rooms == ROOMS]
        lines.append(
            f"- The issue's load ({ROOMS} rooms, {ROOMS * ROOM_SIZE} clients) on {processes} "
            f"process{'es' if processes > 1 else ''}: "
            + (
                f"{at_issue[0].delivered:,} of {at_issue[0].expected:,} deliveries, p99 "
                f"{at_issue[0].p99_ms:.0f} ms ({'within' if at_issue[0].ok else 'beyond'} "
                "the target)."
                if at_issue
                else "not run: a smaller step already overloaded the process(es)."
            )
        )
    lines.append("")
    if one and two:
        ratio = two.rooms / one.rooms
        lines.append(
            f"Capacity within p99 < {TARGET_P99_MS:.0f} ms and every message delivered: one "
            f"process {one.rooms} rooms, two processes {two.rooms} rooms: **{ratio:.2f} ×** "
            "(target ≥ 1.6 ×)."
        )
    else:
        carried = {1: one, 2: two}
        lines.append(
            "Capacity within the target: "
            + "; ".join(
                f"{n} process{'es' if n > 1 else ''}: "
                + (f"{o.rooms} rooms" if o else "none of the steps")
                for n, o in carried.items()
            )
            + "."
        )
    lines.append(
        f"Load average of the machine (2 cores) when the run ended: {os.getloadavg()[0]:.1f}."
    )
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


def record(section: str, doc: Path = settings.DOC) -> None:
    """Put the section in docs/benchmarks.md, replacing the class's previous one."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, _, rest = text.partition(MARK_BEGIN)
        _, _, tail = rest.partition(MARK_END + "\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)


def main() -> int:
    env = settings.apply_env()
    from bench import data
    from core import create_app

    data.ensure_database()
    app = create_app()
    data.rebuild_schema(app)
    data.populate(app, max(ROOMS, *STEPS), ROOM_SIZE)
    outcomes = measure(app, env, say=lambda text: print(f"[bench] class: {text}", flush=True))
    section = render(outcomes)
    record(section)
    print(section)
    settings.clean_up()
    at_target = [o for o in outcomes if o.rooms == ROOMS and o.processes == 1]
    return 0 if at_target and at_target[0].delivered == at_target[0].expected else 1


if __name__ == "__main__":
    sys.exit(main())
