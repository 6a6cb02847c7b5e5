"""Janus on loopback, configured by the project (not /etc/janus): for `make run` and the tests.

`python -m virtualclass.janus_local COMMAND…` writes a configuration folder from the templates
of virtualclass/janus/ (fresh secrets), starts Janus, runs COMMAND with the JANUS_* variables
that point the app at it, and stops Janus when COMMAND ends. Without Janus installed
(`apt-get install janus`), COMMAND runs alone and the class says that media is unavailable.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

TEMPLATES = Path(__file__).with_name("janus")
# Debian installs the plugins under the architecture's library folder.
LIBRARY = next(
    iter(sorted(Path("/usr/lib").glob("*/janus/plugins"))), Path("/usr/lib/janus/plugins")
).parent


def installed() -> bool:
    return shutil.which("janus") is not None and LIBRARY.is_dir()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalJanus:
    """One Janus process on loopback, its configuration in a folder of its own."""

    origin: str = "*"
    stun: str = ""  # host:port of a STUN server, if Janus sits behind NAT
    rtp_ports: str = "20000-40000"
    port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    api_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    admin_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    room_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="janus-")))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}/admin"

    @property
    def log(self) -> Path:
        return self.folder / "janus.log"

    def env(self) -> dict[str, str]:
        """What the app needs to use this Janus (core/config.py)."""
        return {
            "JANUS_URL": self.url,
            "JANUS_ADMIN_URL": self.admin_url,
            "JANUS_API_SECRET": self.api_secret,
            "JANUS_ADMIN_SECRET": self.admin_secret,
            "JANUS_ROOM_SECRET": self.room_secret,
        }

    def write_config(self) -> None:
        stun = ""
        if self.stun:
            host, _, port = self.stun.partition(":")
            stun = f'stun_server = "{host}"\n\tstun_port = {port or 3478}'
        values = {
            "configs": str(self.folder),
            "lib": str(LIBRARY),
            "admin_secret": self.admin_secret,
            "api_secret": self.api_secret,
            "room_secret": self.room_secret,
            "rtp_ports": self.rtp_ports,
            "stun": stun,
            "port": str(self.port),
            "admin_port": str(self.admin_port),
            "origin": self.origin,
        }
        for template in TEMPLATES.glob("*.jcfg"):
            text = template.read_text()
            for name, value in values.items():
                text = text.replace("{" + name + "}", value)
            (self.folder / template.name).write_text(text)

    def __enter__(self) -> LocalJanus:
        self.write_config()
        command = ["janus", "-F", str(self.folder), "-C", str(self.folder / "janus.jcfg")]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own arguments
                [*command, "--disable-colors"], stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None  # noqa: S101
            if self.proc.poll() is not None:
                raise RuntimeError(f"Janus exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Janus not ready after {timeout_s} s:\n{self.log.read_text()}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Run `argv` with Janus beside it (when installed)."""
    if not argv:
        print("usage: python -m virtualclass.janus_local COMMAND…", file=sys.stderr)
        return 2
    if not installed():
        print("Janus n'est pas installé : la classe virtuelle fonctionnera sans audio ni vidéo.")
        return subprocess.call(argv)  # noqa: S603 - the developer's own command
    origin = os.environ.get("PUBLIC_BASE_URL", "*")
    with LocalJanus(origin=origin) as janus:
        print(f"Janus (VideoRoom) sur {janus.url}, journal : {janus.log}")
        return subprocess.call(argv, env={**os.environ, **janus.env()})  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
