# Thin wrappers over uv and npm; see README.md.
.PHONY: install demo test lint

install:
	uv sync --frozen
	npm ci --no-audit --no-fund

demo: install
	uv run python manage.py demo

# -n auto: one pytest-xdist worker per core; each gets its own test database.
test: install
	uv run pytest -n auto

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy .
	uv run lint-imports
