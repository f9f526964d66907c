"""Fails when a setting or a command exists but the README does not document it."""

import re
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_environment_setting_is_documented():
    names = set()
    for source in (ROOT / "src" / "newsstand").rglob("*.py"):
        names |= set(re.findall(r"\b(NEWSSTAND_[A-Z_]+)\b", source.read_text()))
    environment = {n for n in names if re.search(rf'environ(?:\.get)?\(\s*"{n}"|env_\w+\("{n}"|"{n}" not in os.environ',
                                                  "".join(p.read_text() for p in (ROOT / "src").rglob("*.py")))}
    assert len(environment) > 15  # the scan itself works
    missing = sorted(n for n in environment if n not in README)
    assert not missing, f"undocumented settings: {missing}"


def test_every_newsstand_command_is_documented():
    ours = [name for name, app in get_commands().items() if app.startswith("newsstand")]
    assert {"feeds", "fetch", "run", "serve", "worker"} <= set(ours)
    missing = sorted(name for name in ours if f"newsstand {name}" not in README and f"`{name}`" not in README)
    assert not missing, f"undocumented commands: {missing}"
