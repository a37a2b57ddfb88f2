"""Raw-socket clients that try to exhaust a server: an oversized body streamed in, idle connections held open."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests

MIB = 1024 * 1024
_CHUNK = b"x" * 65536


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"not a base URL with a port: {url}")
    return parts.hostname, parts.port


def push_body(url: str, path: str, declared: int, *, chunked: bool = False) -> tuple[int, bytes]:
    """POST a body of `declared` bytes as fast as the server takes it; (bytes it took, its answer).

    Stops at the first byte of an answer or when the server closes the connection, so the count is
    what the server let in before refusing (plus what the kernel buffered in between).
    """
    sock = socket.create_connection(_address(url), timeout=5)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {_address(url)[0]}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
    )
    sent = 0
    with sock:
        sock.sendall(head.encode())
        while sent < declared:
            readable, _, _ = select.select([sock], [], [], 0.01)
            if readable:
                break
            piece = _CHUNK[: declared - sent]
            wire = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            try:
                sock.sendall(wire)
            except OSError:
                break
            sent += len(piece)
        answer = b""
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer:
                    break
    return sent, answer


@contextmanager
def idle_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that each send half a request line and then nothing."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(_address(url), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            held.append(sock)
        yield held
    finally:
        for sock in held:
            sock.close()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                return sock.recv(1) == b""
            except OSError:
                return True
    return False


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_process(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """`matterline serve` in its own process, as production runs it; yields its base URL once it answers."""
    port = free_port()
    # Its log in a file, as the journal takes it: a pipe nobody reads fills after a few hundred request lines
    # and stalls the server writing to it.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "serve", "--port", str(port)],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"matterline serve exited: {log.read()!r}")
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("matterline serve did not answer within 30 s")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)
