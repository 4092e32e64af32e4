from __future__ import annotations

import re

from django.conf import settings


def test_it_documents_every_environment_variable_the_settings_read() -> None:
    source = (settings.BASE_DIR / "orderdesk" / "settings.py").read_text()
    readme = (settings.BASE_DIR / "README.md").read_text()

    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', source))

    assert "DATABASE_URL" in read
    assert sorted(name for name in read if f"`{name}`" not in readme) == []


def test_it_starts_with_the_two_commands() -> None:
    readme = (settings.BASE_DIR / "README.md").read_text()

    commands = [line.split("#")[0].strip() for line in readme.splitlines()[:6]]

    assert "make demo" in commands
    assert "make test" in commands
