"""A local HTTP server on 127.0.0.1 for the download and dataset tests.

It serves byte strings by path (``routes[path] = body`` or ``(body, mode)``) and can misbehave
on purpose: answer 404/500/202, cut a transfer short, drop the connection mid-transfer, or stall.
``hits`` counts requests per path.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def mirror_path(url: str) -> str:
    """Where a publisher's URL sits on a mirror: ``/<host>/<path>``."""
    p = urllib.parse.urlsplit(url)
    return f"/{p.netloc}{p.path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        srv = self.server
        path = urllib.parse.urlsplit(self.path).path
        with srv.lock:
            srv.hits[path] = srv.hits.get(path, 0) + 1
        route = srv.routes.get(path)
        if route is None:
            self.send_error(404)
            return
        body, mode = route if isinstance(route, tuple) else (route, "ok")
        if mode == "500":
            self.send_error(500)
            return
        if mode == "202":  # ArcGIS Hub while it prepares an export
            msg = b'{"status": "Pending"}'
            self.send_response(202)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        if mode == "slow":
            time.sleep(srv.slow_s)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2]
            self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
            self.wfile.flush()
            self.close_connection = True  # no terminating chunk: the server goes away
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "reset":
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # RST: the server is gone mid-transfer
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:  # broken pipes are expected
        pass


def start_server():
    """Start a server; returns it (stop with :func:`stop_server`)."""
    srv = LocalServer(("127.0.0.1", 0), _Handler)
    srv.routes, srv.hits, srv.lock, srv.slow_s = {}, {}, threading.Lock(), 1.0
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    srv.thread = t
    return srv


def stop_server(srv) -> None:
    srv.shutdown()
    srv.server_close()
    srv.thread.join(5)
