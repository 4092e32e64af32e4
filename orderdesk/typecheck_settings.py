"""The settings mypy's Django plugin loads: orderdesk.settings with a placeholder key.

The settings refuse to load without SECRET_KEY when DEBUG is off (as production must); type
checking serves nothing, so it needs no key of its own.
"""

import os

os.environ.setdefault("SECRET_KEY", "type-checking-only")

from orderdesk.settings import *  # noqa: F403
