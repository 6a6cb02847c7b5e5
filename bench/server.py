"""A real gunicorn server (`wsgi:app`, or the bare baseline) in a subprocess, stopped on exit
whatever happens."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from bench import settings

HEALTH = "/api/v1/health/live"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`gunicorn wsgi:app -k <worker_class> -w <workers>` on 127.0.0.1:<free port>."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        worker_class: str = "sync",
        threads: int = 1,
        app: str = "wsgi:app",
        python: str = sys.executable,
    ) -> None:
        self.env = {**os.environ, **env}
        self.app = app
        self.python = python  # the Socket.IO servers run in the gevent environment (.venv-prod)
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        self._log_text: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    @property
    def label(self) -> str:
        threads = f" --threads {self.threads}" if self.threads > 1 else ""
        return f"{self.worker_class} -w {self.workers}{threads}"

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]

    def __enter__(self) -> Server:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=settings.ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log.read_text()[-3000:]}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout_s} s:\n{self.log.read_text()}")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", HEALTH)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        """The master's children (the workers), from /proc."""
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        """SIGTERM to the master's process group (graceful), then SIGKILL if it lingers."""
        try:
            self._terminate()
        finally:
            if self._log_text is None and self.log.exists():
                self._log_text = self.log.read_text(errors="replace").strip()
                self.log.unlink()

    def _terminate(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_text(self) -> str:
        """What the server logged (warning level and above: tracebacks, worker timeouts)."""
        if self._log_text is not None:
            text = self._log_text
        else:
            text = self.log.read_text(errors="replace").strip()
        return f"[gunicorn {self.label}]\n{text}" if text else ""
