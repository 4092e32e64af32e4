# Thin wrappers over uv and npm; see README.md.
.PHONY: install demo test lint

install:
	uv sync --frozen
	npm ci --no-audit --no-fund

demo: install
	uv run python manage.py demo

test: install
	uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy .
