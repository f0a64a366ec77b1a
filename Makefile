# The two commands of the README: `make run` (the demo service) and `make test` (lint + the whole suite).
.PHONY: setup run test lint format pytest bench clean

VENV := .venv/bin

setup:
	@scripts/bootstrap.sh

run: setup
	$(VENV)/matakota demo

test: setup lint pytest

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy

pytest: setup
	$(VENV)/pytest

format: setup
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

bench: setup
	$(VENV)/python -m bench.detector
	$(VENV)/python -m bench.ingest
	$(VENV)/python -m bench.pipeline
	$(VENV)/python -m bench.incident_list
	$(VENV)/python -m bench.planner

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
