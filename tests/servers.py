"""Real servers for tests, started on 127.0.0.1 on a free port and stopped afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60.0, log=None) -> None:
    """Poll ``url`` until it answers 2xx; fail with the server's output if it dies or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = ""
            if log is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def running(command: list[str], health_url: str, timeout: float = 60.0, env: dict | None = None) -> Iterator[subprocess.Popen]:
    """Run a server process until the block ends.

    Its output goes to a temporary file, never an unread pipe: a chatty server (chroma logs every
    request) blocks forever once a pipe's 64 KB buffer fills, which hung the Chroma server test.
    """
    import tempfile

    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_http(health_url, process, timeout, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def chroma_server(data_dir: Path) -> Iterator[tuple[str, int]]:
    """A real ``chroma run`` server on a free loopback port."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    command = [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data_dir)]
    import os

    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with running(command, f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=60, env=env):
        yield "127.0.0.1", port
