"""``coach serve``: start the web app (127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
import gc
import threading
import time
from typing import TYPE_CHECKING

from coach.config import Settings, get_settings
from coach.errors import UsageError

if TYPE_CHECKING:
    from ui.context import AppContext

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = sub.add_parser("serve", help="start the web app")
    parser.add_argument("--host", help="interface to bind (default COACH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default COACH_PORT or 7860)")
    parser.set_defaults(func=run)


def parse_auth(raw: str) -> list[tuple[str, str]]:
    """``user:password[,user:password]`` -> pairs; a malformed entry is a usage error."""
    pairs = []
    for entry in raw.split(","):
        user, sep, password = entry.strip().partition(":")
        if not sep or not user or not password:
            raise UsageError("COACH_AUTH must be user:password pairs separated by commas")
        pairs.append((user, password))
    return pairs


def auth_for(host: str, raw_auth: str | None) -> list[tuple[str, str]] | None:
    """Credentials to require; binding beyond this machine without any is refused."""
    if raw_auth:
        return parse_auth(raw_auth)
    if host not in _LOCAL_HOSTS:
        raise UsageError(
            f"refusing to serve on {host} without a password: set COACH_AUTH=user:password "
            "(or bind 127.0.0.1, the default)"
        )
    return None


def serve_embed_threads(settings: Settings) -> int:
    """Threads per embedding call in the web app: the configured count, else one (the panel
    updates that run at once already use every core)."""
    return settings.embed_threads or 1


def start_warm_up(ctx: AppContext) -> threading.Thread:
    """Load the coach panel's models (about a second) beside building and launching the app, so the
    page is served sooner and the panel is warm long before anyone has typed a line; a request that
    comes earlier waits on the same locks and gets the same result. Returns the (started) thread."""

    def warm() -> None:
        started = time.perf_counter()
        problems = ctx.warm_up()
        for problem in problems:
            print(f"note: not warmed up: {problem}", flush=True)
        print(f"coach panel warmed up in {time.perf_counter() - started:.1f} s", flush=True)

    thread = threading.Thread(target=warm, name="coach-warm-up", daemon=True)
    thread.start()
    return thread


def run(args: argparse.Namespace) -> int:
    """Build and launch the app; blocks until interrupted."""
    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    auth = auth_for(host, settings.auth.get_secret_value() if settings.auth else None)
    from coach.embeddings import use_threads
    from ui.app import build_app, launch_kwargs
    from ui.context import AppContext

    use_threads(serve_embed_threads(settings))
    ctx = AppContext.create(settings)
    start_warm_up(ctx)
    app = build_app(settings, ctx)
    app.queue(default_concurrency_limit=settings.concurrency)
    # Everything built so far (Gradio, pandas, Chroma, the app) lives as long as the process: moved
    # out of the collector's reach, full collections stay short instead of stalling every request
    # in flight (they set the coach panel's tail latency under load).
    gc.collect()
    gc.freeze()
    print(f"Mentor Coach on http://{host}:{port}")
    app.launch(server_name=host, server_port=port, auth=auth, show_error=True, **launch_kwargs(settings))
    return 0
