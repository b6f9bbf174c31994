# gridmap — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: run stop test bench deps services lint format demo-fixtures

## run: install what is missing, start PostGIS + Redis, migrate, load the demo, serve it
run:
	bin/stack serve

## stop: stop the web server, Celery, PostgreSQL and Redis started by `make run` / `make test`
stop:
	bin/stack down

## deps: only install (system packages, .venv, front-end assets, translations)
deps:
	bin/stack deps

## services: install, then start PostgreSQL and Redis (no web server)
services:
	bin/stack up

## test: the same set-up, then the whole test suite on real PostGIS and Redis
test: services
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: every benchmark in bench/ against the project-managed services
bench: services
	@set -e; for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done

## lint: ruff check and format check
lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: deps
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

## demo-fixtures: regenerate fixtures/geo/ from the deterministic demo generator
demo-fixtures: deps
	$(PY) -m gridmap.demo.generate fixtures/geo
