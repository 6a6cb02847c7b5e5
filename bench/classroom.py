"""The virtual class under load (issue 11, point 8): rooms of 16 trainees, each sending one chat
message a second; every message must reach the 16 people of its room, and the broadcast
latency (sent → received, one clock: the clients share this process) is measured.

The Socket.IO servers are the production layout (README): gunicorn gevent workers, one process
each, on Redis (Flask-SocketIO's message queue); with two processes each room's clients are
split between them, so that every broadcast crosses Redis. The clients are raw Socket.IO over
WebSocket (wsproto on asyncio: hundreds of connections in one process).

Each step runs twice, on the service and on its floor (bench/classfloor.py: bare Flask-SocketIO
on the same worker, settings and Redis queue), both up side by side and loaded in turn; the
report gives for each the deliveries, p50/p99, the servers' CPU per chat message (counted from
the chat's start, the joins apart) and the service's ratio to the floor.

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
from contextlib import ExitStack
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

from bench import cgroup, settings

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
# Two processes against one, each capped at this share of a core (bench/cgroup.py), so that the
# 2-core machine holds both servers, the clients and Redis: "0" leaves the capped series out.
CAP = float(os.environ.get("BENCH_CLASS_CAP", "0.35"))
CAPPED_STEPS = tuple(
    sorted(
        int(n)
        for n in os.environ.get(
            "BENCH_CLASS_CAPPED_STEPS", "10,15,20,25,30,35,40,45,50,55,60,70"
        ).split(",")
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
    server_cores: float  # the Socket.IO processes, during the chat
    client_cores: float  # this process: the 16 × rooms clients
    other_cores: float  # other programs of the machine meanwhile
    server: str = "service"  # or "floor" (bench/classfloor.py)
    chat_cpu_ms: float = float("nan")  # the servers' CPU per chat message, its 16 deliveries in
    join_cpu_ms: float = float("nan")  # the servers' CPU per client's connect and join
    cap: float = 0.0  # each server process's share of a core (0: uncapped)

    @property
    def ok(self) -> bool:
        return not self.refused and self.delivered == self.expected and self.p99_ms < TARGET_P99_MS

    @property
    def messages_per_s(self) -> float:
        return self.sent / self.seconds

    @property
    def overloaded(self) -> bool:
        return bool(self.refused) or self.p99_ms > GIVE_UP_P99_MS


@dataclass
class Drive:
    """One step's clients: what they saw, and the CPU of the joins and of the chat apart."""

    tally: Tally
    clients: int
    joins: Any  # bench.cpu.Usage from the first connection to the chat's start
    chat: Any  # from the chat's start to its last deliveries


async def _drive(
    ports: list[int], rooms: list[tuple[str, list[str]]], seconds: float, pids: list[int]
) -> Drive:
    """Connect every client (room by room, alternating servers), then each sends one message
    a second (random phase) for `seconds`; wait for the last deliveries. The CPU of `pids`
    (and of the machine) is read before the joins, at the chat's start and at its end."""
    from bench import cpu

    tally = Tally()
    joined = cpu.snapshot(pids, settings.DATABASE_NAME)
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
    chatting = cpu.snapshot(pids, settings.DATABASE_NAME)
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
    done = cpu.snapshot(pids, settings.DATABASE_NAME)
    for client in clients:
        client.close()
    return Drive(
        tally,
        len(clients),
        cpu.usage(joined, chatting, pids),
        cpu.usage(chatting, done, pids),
    )


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
    whose messages all arrive with p99 < 200 ms), in the same run; each step twice, on the
    service and on the floor (bench/classfloor.py: bare Flask-SocketIO, same worker, settings
    and Redis), both up side by side and loaded in turn (alternating which goes first), so
    that other programs weigh on both alike."""
    if not PROD_PYTHON.exists():
        raise SystemExit("The Socket.IO servers need gevent: run `make bench-venv` first.")
    rooms = rooms_from_database(app, max(ROOMS, *STEPS, *CAPPED_STEPS))
    env = {
        **env,
        "SOCKETIO_WRITE_ONLY": "",
        "SOCKETIO_CHANNEL": f"bench-class-{secrets.token_hex(4)}",
        "CLASS_CHAT_RATE": "20/10 seconds",
    }
    outcomes: list[Outcome] = []
    for processes in (1, 2):
        outcomes += _series(env, rooms, processes, ("service", "floor"), STEPS, 0.0, say)
    if CAP and cgroup.available():
        for processes in (1, 2):
            outcomes += _series(env, rooms, processes, ("service",), CAPPED_STEPS, CAP, say)
    elif CAP:
        say("no writable CPU cgroup here: the capped series (one process against two) is left out")
    return outcomes


def _series(
    env: dict[str, str],
    rooms: list[tuple[str, list[str]]],
    processes: int,
    kinds: tuple[str, ...],
    steps: tuple[int, ...],
    cap: float,
    say: Any,
) -> list[Outcome]:
    """The steps on `processes` server processes of each kind, loaded in turn (alternating
    which goes first), until each is overloaded; with `cap`, each server process is held to
    that share of a core (bench/cgroup.py)."""
    from bench.server import Server

    modules = {"service": "wsgi:app", "floor": "bench.classfloor:app"}
    servers = {
        kind: [
            Server(env, 1, "gevent", python=str(PROD_PYTHON), app=modules[kind])
            for _ in range(processes)
        ]
        for kind in kinds
    }
    outcomes: list[Outcome] = []
    started: list[Server] = []
    with ExitStack() as caps:
        try:
            for server in (s for kind in kinds for s in servers[kind]):
                server.__enter__()
                started.append(server)
                if cap:
                    caps.enter_context(cgroup.CpuCap(cap)).add([server.pid, *server.worker_pids()])
            for kind, group in servers.items():  # warm-up, not counted
                _run_step(kind, group, processes, rooms[: steps[0]], 3.0)
            going = dict.fromkeys(kinds, True)
            for n, count in enumerate(steps):
                order = kinds if n % 2 == 0 else kinds[::-1]
                for kind in order:
                    if not going[kind]:
                        continue
                    outcome = _run_step(kind, servers[kind], processes, rooms[:count], SECONDS, cap)
                    outcomes.append(outcome)
                    say(_said(outcome))
                    going[kind] = not outcome.overloaded  # larger steps would only pile up
                    time.sleep(2.0)  # let the processes settle before the next step
                if not any(going.values()):
                    break
        finally:
            for server in started:
                server.stop()
            if any(o.refused for o in outcomes):
                for server in started:  # why clients could not join: the servers' warnings
                    if server.log_text():
                        say(server.log_text()[-3000:])
    return outcomes


def _run_step(
    kind: str,
    servers: list[Any],
    processes: int,
    rooms: list[tuple[str, list[str]]],
    seconds: float,
    cap: float = 0.0,
) -> Outcome:
    pids = [pid for s in servers for pid in (s.pid, *s.worker_pids())]
    drive = asyncio.run(_drive([s.port for s in servers], rooms, seconds, pids))
    tally, chat = drive.tally, drive.chat
    delivered, expected = tally.delivered()
    sent = len(tally.sent)
    return Outcome(
        label=f"{processes} process{'es' if processes > 1 else ''}",
        processes=processes,
        rooms=len(rooms),
        clients=drive.clients,
        seconds=seconds,
        sent=sent,
        delivered=delivered,
        expected=expected,
        p50_ms=tally.p(50),
        p99_ms=tally.p(99),
        max_ms=max(tally.latencies_ms, default=float("nan")),
        refused=tally.refused,
        server_cores=chat.cores("gunicorn"),
        client_cores=chat.cores("bench"),
        other_cores=chat.cores("other programs"),
        server=kind,
        chat_cpu_ms=1000 * chat.groups.get("gunicorn", 0.0) / max(1, sent),
        join_cpu_ms=1000 * drive.joins.groups.get("gunicorn", 0.0) / max(1, drive.clients),
        cap=cap,
    )


def _said(o: Outcome) -> str:
    return (
        f"{o.server}, {o.label}"
        + (f" capped at {o.cap:g} core each" if o.cap else "")
        + f", {o.rooms} rooms ({o.clients} clients): "
        f"{o.messages_per_s:,.0f} messages/s, delivered {o.delivered:,}/{o.expected:,}, "
        f"p50 {o.p50_ms:.1f} ms, p99 {o.p99_ms:.1f} ms; server CPU {o.chat_cpu_ms:.2f} ms per "
        f"chat message, {o.join_cpu_ms:.1f} ms per join; servers {o.server_cores:.2f} cores, "
        f"clients {o.client_cores:.2f}, other programs {o.other_cores:.2f}"
        + (f"; {o.refused} clients could not join" if o.refused else "")
    )


def capacity(
    outcomes: list[Outcome], processes: int, server: str = "service", cap: float = 0.0
) -> Outcome | None:
    """The largest load that `processes` carried within the target, every smaller step
    included (a step that passes above one that failed is noise, not capacity)."""
    steps = sorted(
        (o for o in outcomes if o.processes == processes and o.server == server and o.cap == cap),
        key=lambda o: o.rooms,
    )
    carried = None
    for outcome in steps:
        if not outcome.ok:
            break
        carried = outcome
    return carried


def _pair(outcomes: list[Outcome]) -> list[tuple[Outcome | None, Outcome | None]]:
    """(service, floor) per process count and rooms, in the order of the steps."""
    keys = sorted({(o.processes, o.rooms) for o in outcomes})
    found = {(o.server, o.processes, o.rooms): o for o in outcomes}
    return [(found.get(("service", *k)), found.get(("floor", *k))) for k in keys]


def render(everything: list[Outcome]) -> str:
    outcomes = [o for o in everything if not o.cap]
    capped = [o for o in everything if o.cap]
    lines = [
        MARK_BEGIN,
        "## The virtual class: rooms of 16, one chat message a second each (issue 11)",
        "",
        f"Run of {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, `python -m bench.classroom` "
        "(also the last part of `make bench`). Servers: gunicorn, one gevent worker per process, "
        "Redis message queue; clients: raw Socket.IO over WebSocket in one asyncio process on the "
        f"same 2-core machine. {SECONDS:.0f} s per step; latency: sent → received by each of "
        "the room's 16 participants (the sender included). Each step runs on the service and "
        "on its floor (`bench/classfloor.py`: bare Flask-SocketIO, same worker, settings and "
        "Redis queue, a `join` that enters the room, a `chat` re-emitted to it), both servers "
        "up side by side and loaded in turn. CPU per chat message: the servers' CPU from the "
        "chat's start to its last deliveries over the messages sent (each with its 16 "
        "deliveries); the joins are counted apart (CPU per client's connect and join).",
        "",
        "| processes | rooms | clients | messages/s | delivered, service / floor | "
        "p50 ms, service / floor | p99 ms, service / floor | CPU ms per chat message, "
        "service / floor | ratio | CPU ms per join, service / floor | servers (cores), "
        "service / floor | other programs (cores) | service within target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def both(s: Outcome | None, f: Outcome | None, fmt: str, get: Any) -> str:
        return " / ".join(format(get(o), fmt) if o else "–" for o in (s, f))

    for s, f in _pair(outcomes):
        o = s or f
        assert o is not None  # noqa: S101 - a pair has one at least
        ratio = s.chat_cpu_ms / f.chat_cpu_ms if s and f and f.chat_cpu_ms else float("nan")
        cells = [
            f"{o.processes}",
            f"{o.rooms}",
            f"{o.clients}",
            f"{o.messages_per_s:,.0f}",
            both(s, f, "", lambda x: f"{x.delivered:,} of {x.expected:,}"),
            *(both(s, f, ".1f", get) for get in (lambda x: x.p50_ms, lambda x: x.p99_ms)),
            both(s, f, ".2f", lambda x: x.chat_cpu_ms),
            f"{ratio:.2f} ×",
            both(s, f, ".1f", lambda x: x.join_cpu_ms),
            *(
                both(s, f, ".2f", get)
                for get in (lambda x: x.server_cores, lambda x: x.other_cores)
            ),
            "yes" if s and s.ok else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for processes in (1, 2):
        at_issue = [
            o
            for o in outcomes
            if o.processes == processes and o.rooms == ROOMS and o.server == "service"
        ]
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
    for server in ("service", "floor"):
        lines.append(
            _capacity_line(
                f"Capacity of the {server} within p99 < {TARGET_P99_MS:.0f} ms and every message "
                "delivered",
                capacity(outcomes, 1, server),
                capacity(outcomes, 2, server),
                " (target ≥ 1.6 ×)." if server == "service" else ".",
            )
        )
    lines += _render_capped(capped)
    lines.append(
        f"Load average of the machine (2 cores) when the run ended: {os.getloadavg()[0]:.1f}."
    )
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


def _render_capped(capped: list[Outcome]) -> list[str]:
    """One process against two, each held to the same share of a core (bench/cgroup.py)."""
    if not capped:
        return ["", "One process against two at the same share of a core: not run (no cap)."]
    cap = capped[0].cap
    lines = [
        "",
        f"One process against two, each server process capped at {cap:g} of a core (Linux "
        "cgroup CPU quota, bench/cgroup.py), the service only: uncapped, two processes, the "
        "clients and Redis share the same two cores and the second process has no core of "
        "its own; capped alike, the ratio is what a second process adds.",
        "",
        "| processes | rooms | clients | delivered | p50 ms | p99 ms | CPU ms per chat message "
        "| servers (cores) | within target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in capped:
        lines.append(
            f"| {o.processes} | {o.rooms} | {o.clients} | {o.delivered:,} of {o.expected:,} | "
            f"{o.p50_ms:.1f} | {o.p99_ms:.1f} | {o.chat_cpu_ms:.2f} | {o.server_cores:.2f} | "
            f"{'yes' if o.ok else 'no'} |"
        )
    lines.append("")
    lines.append(
        _capacity_line(
            f"Capacity capped at {cap:g} core per process, within p99 < {TARGET_P99_MS:.0f} ms "
            "and every message delivered",
            capacity(capped, 1, cap=cap),
            capacity(capped, 2, cap=cap),
            " (target ≥ 1.6 ×).",
        )
    )
    return lines


def _capacity_line(head: str, one: Outcome | None, two: Outcome | None, target: str) -> str:
    """`head`: one process N rooms, two processes M rooms, and their ratio when both carried
    a step."""
    if one and two:
        return (
            f"{head}: one process {one.rooms} rooms, two processes {two.rooms} rooms: "
            f"**{two.rooms / one.rooms:.2f} ×**{target}"
        )
    return (
        f"{head}: "
        + "; ".join(
            f"{n} process{'es' if n > 1 else ''}: "
            + (f"{o.rooms} rooms" if o else "none of the steps")
            for n, o in ((1, one), (2, two))
        )
        + "."
    )


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
    data.populate(app, max(ROOMS, *STEPS, *CAPPED_STEPS), ROOM_SIZE)
    outcomes = measure(app, env, say=lambda text: print(f"[bench] class: {text}", flush=True))
    section = render(outcomes)
    record(section)
    print(section)
    settings.clean_up()
    at_target = [
        o for o in outcomes if o.rooms == ROOMS and o.processes == 1 and o.server == "service"
    ]
    return 0 if at_target and at_target[0].delivered == at_target[0].expected else 1


if __name__ == "__main__":
    sys.exit(main())
