"""``coach models [--check] [--json]``: show which chat model is active and with which settings.

Never prints an API key: only whether one is set and whether it is sent to the configured server.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from coach.config import Settings, get_settings
from coach.llm import ModelRole, get_chat_model, resolve, system, user


def describe(settings: Settings, role: ModelRole = "coach") -> dict[str, Any]:
    """The active model for ``role`` and its settings, without loading it or contacting a server."""
    provider, model = resolve(settings, role)
    info: dict[str, Any] = {"role": role, "provider": provider}
    if provider == "local":
        from coach.llm_local import bundled_model_path

        path = model or str(bundled_model_path())
        info.update(model=path.rsplit("/", 1)[-1], path=path, bundled=model is None, threads=settings.threads)
    else:
        from coach.llm_openai import base_url, choose_api_key

        choice = choose_api_key(settings)
        info.update(model=model, base_url=base_url(settings), api_key=choice.reason,
                    timeout_s=settings.timeout, max_retries=settings.max_retries)
    info.update(context_size=settings.context_size, max_tokens=settings.max_tokens,
                temperature=settings.temperature, seed=settings.seed)
    return info


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    parser = sub.add_parser("models", help="show the active chat model and its settings")
    parser.add_argument("--check", action="store_true", help="also send one tiny request and report the answer time")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the coach and grader models; with ``--check``, prove the coach model answers."""
    settings = get_settings()
    report = [describe(settings, "coach"), describe(settings, "grader")]
    if args.check:
        model = get_chat_model(settings)
        answer = model.complete([system("Reply with one short word."), user("Ready?")], max_tokens=8)
        report[0]["check"] = {"seconds": round(answer.seconds, 3), "prompt_tokens": answer.usage.prompt_tokens,
                              "completion_tokens": answer.usage.completion_tokens, "answer": answer.text}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    for info in report:
        print(f"{info['role']}: {info['provider']} / {info['model']}")
        for key, value in info.items():
            if key not in ("role", "provider", "model", "check"):
                print(f"  {key.replace('_', ' ')}: {value}")
        if "check" in info:
            check = info["check"]
            print(f"  check: answered {check['answer']!r} in {check['seconds']} s "
                  f"({check['prompt_tokens']} prompt + {check['completion_tokens']} completion tokens)")
    return 0
