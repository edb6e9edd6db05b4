"""An HTTP CONNECT proxy whose tunnels leave from an address of its own: one client's network.

Chromium cannot choose its source address, so a browser context sent through `ConnectProxy(
"127.0.0.11", ...)` looks, to whatever it reaches, like a client at 127.0.0.11 (all of
127.0.0.0/8 is local on Linux). The proxy also resolves the host names it is given.
"""

import contextlib
import socket
import threading

from tests.proxy import close_all


class ConnectProxy:
    """Tunnels `CONNECT name:port` to `hosts[name]:port`, from `source`; refuses anything else."""

    def __init__(self, source: str, hosts: dict[str, str]) -> None:
        self.source = source
        self.hosts = hosts
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ConnectProxy":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            close_all(self._sockets)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.add(client)
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head and len(head) < 65536:
                if not (chunk := client.recv(4096)):
                    break
                head += chunk
        head, _, early = head.partition(b"\r\n\r\n")
        method, _, target = head.split(b"\r\n", 1)[0].decode("latin1").partition(" ")
        name, _, port = target.split(" ", 1)[0].rpartition(":")
        if method != "CONNECT" or name not in self.hosts or not port.isdigit():
            self._refuse(client, b"403 Forbidden")
            return
        try:
            upstream = socket.create_connection(
                (self.hosts[name], int(port)), timeout=10, source_address=(self.source, 0)
            )
            upstream.settimeout(None)
        except OSError:
            self._refuse(client, b"502 Bad Gateway")
            return
        with self._lock:
            self._sockets.add(upstream)
        with contextlib.suppress(OSError):
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            upstream.sendall(early)
        downstream = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        downstream.start()
        self._pump(client, upstream)
        downstream.join()
        self._drop(client, upstream)

    def _refuse(self, client: socket.socket, status: bytes) -> None:
        with contextlib.suppress(OSError):
            client.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
        self._drop(client)

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.difference_update(sockets)
        for sock in sockets:
            sock.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
