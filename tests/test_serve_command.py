"""`coach serve`: who may connect (COACH_AUTH) and how the embedding model is run in the web app."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from coach.commands.serve import auth_for, parse_auth, serve_embed_threads
from coach.config import Settings
from coach.errors import UsageError
from tests.servers import free_port, running


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_this_machine_needs_no_password(host: str) -> None:
    assert auth_for(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_binding_beyond_this_machine_without_a_password_is_refused(host: str) -> None:
    with pytest.raises(UsageError, match=f"refusing to serve on {host} without a password: set COACH_AUTH"):
        auth_for(host, None)
    with pytest.raises(UsageError, match="COACH_AUTH"):
        auth_for(host, "")


def test_auth_pairs_are_parsed_and_bad_ones_named() -> None:
    assert parse_auth("ana:s3cret, ben:p:w") == [("ana", "s3cret"), ("ben", "p:w")]
    assert auth_for("0.0.0.0", "ana:s3cret") == [("ana", "s3cret")]
    for bad in ("ana", "ana:", ":pw", "ana:pw,,ben:pw", "\u00e9\u00e8"):
        with pytest.raises(UsageError, match="user:password pairs"):
            parse_auth(bad)


def test_the_cli_refuses_to_serve_on_all_interfaces_without_auth(tmp_path: Path) -> None:
    env = {**os.environ, "COACH_HOME": str(tmp_path)}
    env.pop("COACH_AUTH", None)
    done = subprocess.run([sys.executable, "-m", "coach.cli", "serve", "--host", "0.0.0.0", "--port",
                           str(free_port())], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    assert "refusing to serve on 0.0.0.0 without a password" in done.stderr
    assert "Mentor Coach on" not in done.stdout  # it never started listening


def test_with_auth_the_app_answers_only_after_login(ingested_home: Path) -> None:
    """All interfaces with COACH_AUTH set: the app's API is closed until the login succeeds."""
    port = free_port()
    env = {**os.environ, "COACH_HOME": str(ingested_home), "COACH_AUTH": "ana:s3cret"}
    command = [sys.executable, "-m", "coach.cli", "serve", "--host", "0.0.0.0", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running(command, base + "/", timeout=120, env=env):
        with pytest.raises(urllib.error.HTTPError) as closed:
            urllib.request.urlopen(base + "/config", timeout=10)
        assert closed.value.code == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        wrong = urllib.parse.urlencode({"username": "ana", "password": "nope"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(base + "/login", data=wrong, timeout=10)
        assert refused.value.code in (400, 401)
        right = urllib.parse.urlencode({"username": "ana", "password": "s3cret"}).encode()
        opener.open(base + "/login", data=right, timeout=10)
        with opener.open(base + "/config", timeout=10) as response:
            assert response.status == 200 and b"coach_turn" in response.read()


def test_the_web_app_embeds_with_one_thread_per_call_unless_told(tmp_path: Path) -> None:
    assert serve_embed_threads(Settings(home=tmp_path)) == 1
    assert serve_embed_threads(Settings(home=tmp_path, embed_threads=2)) == 2


def test_warm_up_runs_beside_the_launch_and_reports(ingested_settings: Settings, capsys) -> None:
    from coach.analyzer import behaviour
    from coach.commands.serve import start_warm_up
    from ui.context import AppContext

    thread = start_warm_up(AppContext.create(ingested_settings))
    assert thread.daemon  # never keeps a stopped server alive
    thread.join(timeout=120)
    assert not thread.is_alive() and behaviour._model is not None
    out = capsys.readouterr().out
    assert "coach panel warmed up in" in out and "not warmed up" not in out


def test_warm_up_names_what_is_missing_without_failing(tmp_path: Path, capsys) -> None:
    from coach.commands.serve import start_warm_up
    from ui.context import AppContext

    start_warm_up(AppContext.create(Settings(home=tmp_path / "no-store"))).join(timeout=120)
    assert "note: not warmed up: knowledge search: no store yet (run `coach ingest`)" in capsys.readouterr().out
