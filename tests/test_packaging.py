"""What a production install pulls in: the runtime, no test tools, browser drivers or fuzzers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {"pytest", "pytest-timeout", "schemathesis", "playwright", "ruff", "psycopg-pool"}


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.add(line.split("==")[0].split("[")[0].lower())
    return names


def test_production_requirements_hold_no_test_or_browser_tools():
    assert requirement_names(ROOT / "requirements.txt").isdisjoint(DEV_ONLY)


def test_development_requirements_add_the_tools_on_top_of_production():
    dev = ROOT / "requirements-dev.txt"
    assert "-r requirements.txt" in dev.read_text().splitlines()
    assert requirement_names(dev) >= DEV_ONLY


def test_env_example_sets_every_setting_it_names_to_the_documented_default(monkeypatch):
    """`cp .env.example .env` must not silently bring back old values (it once set a pool of 15 + 5)."""
    import importlib

    from aura import config

    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            example[name] = value
    for name in example:
        monkeypatch.delenv(name, raising=False)
    defaults = importlib.reload(config).BaseConfig
    try:
        compared = {name: value for name, value in example.items() if value and hasattr(defaults, name)}
        assert len(compared) > 20
        for name, value in compared.items():
            default = getattr(defaults, name)
            if isinstance(default, bool):
                assert (value.lower() in {"1", "true", "yes", "on"}) == default, name
            else:
                assert type(default)(value) == default, (name, value, default)
    finally:
        monkeypatch.undo()
        importlib.reload(config)
