"""README stays truthful: the two commands come first and every setting is documented."""

from __future__ import annotations

from coach.config import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    head = README.split("\n## ", 1)[0]
    assert head.index("make run") < head.index("make test")


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = list(alias.choices) if alias is not None else [f"COACH_{name.upper()}"]
        assert any(n in README for n in names), f"{names} missing from README"
