"""A real nginx for tests (Debian's package), in the foreground, with everything in one directory."""

import os
import signal
import socket
import subprocess
from pathlib import Path

from tests.servers import wait_until

NGINX = "/usr/sbin/nginx"

MAIN = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{
    worker_connections 4096;
}}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log {dir}/access.log;
{http}
}}
"""


def self_signed_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A throw-away certificate and key for `host` (openssl, as nginx itself would use)."""
    certificate, key = directory / f"{host}.crt", directory / f"{host}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", f"/CN={host}"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *(
                "-addext",
                f"subjectAltName=DNS:{host}",
                "-keyout",
                str(key),
                "-out",
                str(certificate),
            ),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


class Nginx:
    """nginx running `http` (the contents of an `http {}` block) from `directory`.

    `address` is one of its listening sockets: `start()` returns once it accepts connections.
    """

    def __init__(self, directory: Path, http: str, address: tuple[str, int]) -> None:
        if not os.access(NGINX, os.X_OK):
            raise FileNotFoundError(f"{NGINX} is missing (Debian: apt-get install nginx)")
        self.dir = directory
        self.address = address
        # Workers of a root master switch to `nobody`, who may not read a test's temp dir.
        user = "user root;" if os.geteuid() == 0 else ""
        self.config = directory / "nginx.conf"
        self.config.write_text(MAIN.format(user=user, dir=directory, http=http))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Nginx":
        command = [NGINX, "-p", str(self.dir), "-c", str(self.config), "-e", str(self.error_log)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refuses its configuration:\n{checked.stderr}")
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: workers go down with the master
        )
        try:
            wait_until(self._accepting, what=f"nginx on {self.address} (log: {self.error_log})")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def error_log(self) -> Path:
        return self.dir / "error.log"

    def _accepting(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"nginx exited early:\n{self.error_log.read_text()}")
        try:
            with socket.create_connection(self.address, timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Fast shutdown (SIGTERM closes every connection); its whole group is killed if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
