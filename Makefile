# Thin wrappers over uv and npm; see README.md. scripts/bootstrap installs what this machine
# lacks (uv included), so uv need not be on PATH: UV is the uv command it finds or installs.
.PHONY: install demo test lint

UV := $(shell scripts/bootstrap --uv)
ifeq ($(strip $(UV)),)
$(error scripts/bootstrap found no uv and could not install it (see its message above))
endif
# scripts/bootstrap, run by the targets, reuses it.
export UV

# Django refuses to start without SECRET_KEY when DEBUG is off, as in production. The demo uses
# a key made once for this checkout in var/, unless SECRET_KEY is set; the tests set their own
# (pyproject.toml).
LOCAL_SECRET_KEY = $(shell mkdir -p var && { test -s var/secret_key || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > var/secret_key; } && cat var/secret_key)

install:
	scripts/bootstrap

demo: install
	SECRET_KEY="$${SECRET_KEY:-$(LOCAL_SECRET_KEY)}" $(UV) run python manage.py demo

# -n auto: one pytest-xdist worker per core; each gets its own test database.
test:
	scripts/bootstrap --browser
	$(UV) run pytest -n auto

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .
	$(UV) run lint-imports
