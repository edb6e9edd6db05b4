"""Real servers for tests: the chat itself (uvicorn subprocess), and later PostgreSQL and Redis."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `condition()` until it is true (this is waiting for a state, not a timed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class ChatServer:
    """`chat serve` as a real process on a free port, with its own database and log file."""

    def __init__(self, workdir: Path, port: int | None = None, **env: str) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.env = {"CHAT_DATABASE_URL": f"sqlite:///{workdir / 'chat.db'}", **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"server-{self.port}.log"
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str) -> "ChatServer":
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chat", "serve", "--port", str(self.port), *args],
            env={**os.environ, **self.env},
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._ready, what=f"chat server on port {self.port} (log: {self.log_path})")
        except BaseException:
            self.stop()  # closes the log too
            raise
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{self.log()}")
        return http_ok(self.url + "/health")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Stop the process with `sig` and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        if self._log:
            self._log.close()
            self._log = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free port in a temporary directory."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise FileNotFoundError(
                "PostgreSQL is not installed (Debian: apt-get install postgresql)"
            )
        self.bin = found[-1].parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chat-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / args[0]), *args[1:]]),
            check=True,
            capture_output=True,
            cwd=self.dir,
        )

    def start(self) -> "PostgresServer":
        if not self.data.exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        running = subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
            cwd=self.dir,
        )
        if running.returncode == 0:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A throw-away redis-server on a free port (no persistence)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chat-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, what=f"redis on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
