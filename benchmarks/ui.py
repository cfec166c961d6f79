"""Web app speed: time from `coach serve` to the first page served, and the coach panel update under load.

The panel update is the ``coach_turn`` endpoint (analysis + state + knowledge search; no model
call), called through Gradio's queue API (the protocol the browser uses) by 10 concurrent clients,
each in its own rehearsal session, against a real ``coach serve`` on 127.0.0.1.

Run: .venv/bin/python benchmarks/ui.py   (targets: startup < 10 s, panel p95 < 300 ms on 2 cores)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in (("ANONYMIZED_TELEMETRY", "False"), ("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1")):
    os.environ.setdefault(name, value)

CLIENTS = 10
TURNS_PER_CLIENT = 15
SCENARIOS = ["customer-blowup", "not-cut-out-for-sales", "missed-quota-hard-work", "career-switcher",
             "credit-dispute"]
LINES = [
    "It sounds like that call really shook you. What happened?",
    "You should just send the email and move on.",
    "Can I share something that helped me when I was in a similar spot?",
    "What would a good outcome look like for you?",
    "So you worked harder than anyone and the numbers still did not come. That must sting.",
    "Why don't you ask the customer for a second meeting?",
    "I remember missing my target in my second year; what helped me was talking it through.",
]
#: A Gradio app with one trivial endpoint: the floor that queueing, SSE and the client cost on this machine.
FLOOR_APP = """
import sys, gradio as gr
with gr.Blocks(analytics_enabled=False) as demo:
    state, text, out = gr.State(None), gr.Textbox(), gr.Textbox()
    gr.Button().click(lambda s, x: x[::-1], [state, text], out, api_name="coach_turn", concurrency_limit=None)
    gr.Button().click(lambda x: x, text, out, api_name="start_session", concurrency_limit=None)
demo.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""
STARTUP_TARGET_S = 10.0
PANEL_P95_TARGET_MS = 300.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_page(url: str, process: subprocess.Popen, timeout: float = 120.0) -> float:
    """Seconds until ``url`` answers 200 with the app's page (polling every 50 ms)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise SystemExit(f"coach serve exited with {process.returncode}:\n{process.stdout.read().decode()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and b"gradio" in response.read().lower():
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc), all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _call(client, url: str, fn_index: int, data: list, session_hash: str) -> list:
    """One event through Gradio's queue, as the browser sends it: join, then read the session's
    server-sent events until this event completes. Returns the outputs; raises on a failed event."""
    import json

    joined = await client.post(f"{url}/gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None, "trigger_id": None})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    async with client.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session_hash}) as events:
        async for line in events.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                if not message.get("success"):
                    raise RuntimeError(str(message.get("output"))[:300])
                return message["output"]["data"]
    raise RuntimeError("the event stream closed before the event completed")


async def _load(url: str, clients: int) -> tuple[list[float], list[str], float]:
    """``clients`` concurrent browser sessions x TURNS_PER_CLIENT panel updates: latencies (ms),
    errors, wall seconds. Each session starts a rehearsal first (not timed); all then start together."""
    import asyncio
    import uuid

    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(timeout=120) as client:
        config = (await client.get(f"{url}/config")).json()
        ids = {d.get("api_name"): d["id"] for d in config["dependencies"]}
        barrier = asyncio.Barrier(clients)

        async def session(index: int) -> None:
            session_hash = uuid.uuid4().hex[:12]
            try:
                await _call(client, url, ids["start_session"], [SCENARIOS[index % len(SCENARIOS)]], session_hash)
            except Exception as exc:  # reported below; one broken client must not hide the others' figures
                errors.append(f"client {index}: {exc}")
            await barrier.wait()
            for turn in range(TURNS_PER_CLIENT):
                # Every line is new (turn number appended), so no cache anywhere answers a repeat.
                line = f"{LINES[(index + turn) % len(LINES)]} ({index}.{turn})"
                start = time.perf_counter()
                try:
                    await _call(client, url, ids["coach_turn"], [None, line], session_hash)
                except Exception as exc:
                    errors.append(f"client {index} turn {turn}: {exc}")
                    continue
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(session(i) for i in range(clients)))
    return latencies, errors, time.perf_counter() - start


def load_test(url: str, clients: int = CLIENTS) -> tuple[list[float], list[str], float]:
    """Latencies (ms) of ``clients`` concurrent sessions x TURNS_PER_CLIENT panel updates, errors, wall seconds.

    The load generator speaks Gradio's queue protocol directly (what the browser does: POST
    queue/join, then the session's server-sent events), in one asyncio loop: it costs the shared
    2 cores far less than 10 ``gradio_client.Client`` objects, whose threads alone pushed a trivial
    endpoint's p95 to 570 ms here. The state input (``gr.State``) is sent as null, as the browser does.
    """
    import asyncio

    return asyncio.run(_load(url, clients))


def gradio_floor() -> tuple[float, float, float]:
    """p50 and p95 (ms) of the same load on a trivial Gradio endpoint, and its server's CPU ms per
    call: what no handler can go below here."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", FLOOR_APP, str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", process)
        cpu_before = cpu_seconds(process.pid)
        latencies, _, _ = load_test(f"http://127.0.0.1:{port}")
        cpu_ms = (cpu_seconds(process.pid) - cpu_before) * 1000 / max(len(latencies), 1)
        return percentile(latencies, 0.5), percentile(latencies, 0.95), cpu_ms
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    from coach.config import Settings
    from coach.knowledge import ingest

    home = Path(tempfile.mkdtemp(prefix="coach-bench-ui-"))
    ingest([ROOT / "knowledge"], Settings(home=home))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COACH_HOME": str(home)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        startup = wait_for_page(url + "/", process)
        print(f"startup: first page served {startup:.2f} s after `coach serve` started "
              f"(target < {STARTUP_TARGET_S:.0f} s) {'OK' if startup < STARTUP_TARGET_S else 'MISSED'}")

        # Warm the analyzer, its classifier and the knowledge search once, as a first visitor would.
        warm, warm_errors, _ = load_test(url, clients=1)
        if len(warm) < 2:
            raise SystemExit(f"the coach panel endpoint failed: {warm_errors[:1]}")
        print(f"first visitor: {warm[0]:.0f} ms for the first panel update, "
              f"then median {statistics.median(warm[1:]):.0f} ms alone")

        cpu_before, client_before = cpu_seconds(process.pid), time.process_time()
        latencies, errors, wall = load_test(url)
        server_cpu = cpu_seconds(process.pid) - cpu_before
        client_cpu = time.process_time() - client_before
        if errors:
            print(f"{len(errors)} errors, first: {errors[0]}")
        if not latencies:
            raise SystemExit("no panel update succeeded")
        p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
        print(f"coach panel update via the Gradio API, {CLIENTS} concurrent clients x {TURNS_PER_CLIENT} turns "
              f"({len(latencies)} calls in {wall:.1f} s): p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
              f"max {max(latencies):.0f} ms (target p95 < {PANEL_P95_TARGET_MS:.0f} ms) "
              f"{'OK' if p95 < PANEL_P95_TARGET_MS else 'MISSED'}")
        # CPU time is far steadier than latency on a shared machine: it does not count waiting for a core.
        print(f"CPU per panel update: server {server_cpu * 1000 / max(len(latencies), 1):.1f} ms (all threads), "
              f"load generator {client_cpu * 1000 / max(len(latencies), 1):.1f} ms (on the same cores)")
        floor50, floor95, floor_cpu = gradio_floor()
        print(f"same load on a trivial Gradio endpoint (queue + SSE + client floor): p50 {floor50:.0f} ms, "
              f"p95 {floor95:.0f} ms, server CPU {floor_cpu:.1f} ms per call")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; "
              f"total {time.perf_counter() - started:.0f} s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
