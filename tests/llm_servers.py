"""Real HTTP servers on 127.0.0.1 for tests: a scripted OpenAI-compatible fault server and llama.cpp's server.

``ScriptedServer`` answers ``POST /v1/chat/completions`` from a list of behaviours (one per request; the
last one repeats) and records every request (path, headers, JSON body), so tests can prove retries,
timeouts, cut streams and which ``Authorization`` header a host received.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers import free_port


def completion_body(text: str, finish_reason: str = "stop", model: str = "test-model") -> dict[str, Any]:
    """A non-streaming chat-completion JSON body as OpenAI sends it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def chunk_body(delta: dict[str, Any], finish_reason: str | None = None, model: str = "test-model") -> dict[str, Any]:
    """One streamed ``chat.completion.chunk``."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


@dataclass(frozen=True)
class Reply:
    """What the server does with one request.

    kind: ``json`` (status + body), ``raw`` (status + bytes as JSON content type), ``sse`` (stream the
    chunks; ``cut`` closes the connection before the finish chunk and ``[DONE]``), ``hang`` (say nothing
    until the server stops).
    """

    kind: str
    status: int = 200
    body: Any = None
    chunks: Sequence[dict[str, Any]] = ()
    cut: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def stream_reply(pieces: Sequence[str], cut: bool = False) -> Reply:
    """An SSE reply streaming ``pieces`` (then a finish chunk unless ``cut``)."""
    chunks = [chunk_body({"role": "assistant"})] + [chunk_body({"content": p}) for p in pieces]
    if not cut:
        chunks.append(chunk_body({}, finish_reason="stop"))
    return Reply("sse", chunks=chunks, cut=cut)


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """A threaded HTTP server on 127.0.0.1 that replays :class:`Reply` behaviours in order."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[Recorded] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                with server._lock:
                    server.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    index = min(len(server.requests), len(server.replies)) - 1
                server._answer(self, server.replies[index])

            def do_GET(self) -> None:  # noqa: N802
                server._send_json(self, 200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]}, {})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @staticmethod
    def _send_json(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.kind in ("json", "raw"):
            self._send_json(handler, reply.status, reply.body, reply.headers)
        elif reply.kind == "hang":
            self._release.wait(30)
            handler.close_connection = True
        elif reply.kind == "sse":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            events = [f"data: {json.dumps(c)}\n\n" for c in reply.chunks]
            if not reply.cut:
                events.append("data: [DONE]\n\n")
            for event in events:
                data = event.encode()
                handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                handler.wfile.flush()
            if reply.cut:
                # Drop the connection without the terminating zero-length chunk: a stream cut mid-way.
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.wfile.write(b"0\r\n\r\n")
        else:
            raise ValueError(f"unknown reply kind {reply.kind!r}")


class LlamaServer:
    """``python -m llama_cpp.server`` with a GGUF on a free 127.0.0.1 port (the real OpenAI-compatible path)."""

    def __init__(self, model: Path, api_key: str | None = None, n_ctx: int = 2048, alias: str = "smollm2") -> None:
        self.port = free_port()
        self.alias = alias
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.api_key = api_key
        args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx), "--n_threads", "2",
                "--seed", "42", "--verbose", "False"]
        if api_key:
            args += ["--api_key", api_key]
        self._args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: float = 120.0) -> LlamaServer:
        """Start the server and wait until ``/v1/models`` answers."""
        self.process = subprocess.Popen(self._args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + wait
        request = urllib.request.Request(f"{self.base_url}/models")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on port {self.port} within {wait:.0f}s")

    def stop(self) -> None:
        """Terminate the server process (and only it)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
