"""Compile the translation catalogues (`orderdesk/locale/*/LC_MESSAGES/*.po`) to `.mo` files.

With babel, already a dependency, rather than Django's `compilemessages`, which needs GNU
gettext's msgfmt: a fresh machine has Python but not always gettext. scripts/bootstrap runs
this (so `make demo`, `make test` and CI), and the tests' conftest before a session, so an
edited `.po` is never served stale. `.mo` files are build output and not committed.

    python -m orderdesk.lib.catalogs
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write each `.mo` older than its `.po`; the `.mo` files written."""
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        # Fuzzy entries are guesses; CI refuses them, and gettext would not use them either.
        tmp = mo.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        tmp.replace(mo)
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(f"compiled {path}")
