"""The Finnish and Swedish catalogues: complete, current, and really translated."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "orderdesk" / "locale"
LANGUAGES = ("fi", "sv")
# What makemessages reads: the same command as docs/architecture.md gives for adding strings.
MAKEMESSAGES = [
    "makemessages",
    *("-l", "fi", "-l", "sv"),
    "--no-obsolete",
    *("--add-location", "file"),
    *("-i", ".venv/*", "-i", "node_modules/*", "-i", "*/tests/*", "-i", "orderdesk/sandboxes/*"),
    *("-i", "orderdesk/demo/*", "-i", "bench/*", "-i", "staticfiles/*", "-i", "var/*"),
    *("-i", "lint/*"),
]
# Words that are the same in English and the language: names, and words Swedish shares.
SAME_AS_ENGLISH = {
    "fi": {"Orderdesk", "Stripe", "Paytrail", "Epassi"},
    "sv": {"Orderdesk", "Stripe", "Paytrail", "Epassi", "Status"},
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}|%%")


def _catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale=language)


def _messages(language: str) -> list[Any]:
    return [m for m in _catalog(language) if m.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    untranslated = []
    for message in _messages(language):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append(message.id)
    assert untranslated == [], f"{language}: untranslated or fuzzy: {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_are_not_the_english_text(language: str) -> None:
    same = []
    for message in _messages(language):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for source, translation in zip(ids, strings, strict=False):
            if not re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", source)):
                continue  # only placeholders and punctuation: "%(label)s?"
            if translation == source and source not in SAME_AS_ENGLISH[language]:
                same.append(source)
    assert same == [], f"{language}: still English: {same}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    wrong = []
    for message in _messages(language):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])) - {"%%"})
        for translation in strings:
            if sorted(set(PLACEHOLDER.findall(translation)) - {"%%"}) != wanted:
                wrong.append((message.id, translation))
    assert wrong == [], wrong


def _entries(path: Path) -> str:
    # POT-Creation-Date is the time of the run; everything else must stay byte for byte.
    return re.sub(r'"POT-Creation-Date: [^"]*"\n', "", path.read_text())


def test_makemessages_would_not_change_the_catalogues(tmp_path: Path) -> None:
    """A new or changed UI string must come with its catalogue entries (and translations)."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext is missing; install gettext (scripts/bootstrap --browser)")
        pytest.skip("xgettext is missing; install gettext to check the catalogues")
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "repo"
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "var", "staticfiles", "*.mo", "__pycache__"
        ),
    )
    env = {**os.environ, "SECRET_KEY": "x", "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    for language in LANGUAGES:
        relative = Path("orderdesk/locale") / language / "LC_MESSAGES" / "django.po"
        assert _entries(copy / relative) == _entries(root / relative), (
            f"{relative} is not current: run the makemessages command in docs/architecture.md "
            "and translate the new entries"
        )
