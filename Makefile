# Kehu's two set-up commands (the README names only these):
#   make demo   install Kehu into .venv and start the demo on http://127.0.0.1:8000
#   make test   install the test tools and run ruff, the migration check and the whole suite on
#               SQLite and on a throwaway PostgreSQL server (browser tests included)
# Handy extras: make lint | test-sqlite | test-pg | screenshots | clean. Pass pytest options with
# PYTEST_ARGS="-k login -x", and demo options with ARGS="--reset".

SHELL := /bin/sh
VENV := .venv
ARGS ?=

.PHONY: demo test lint test-sqlite test-pg screenshots install install-dev clean

demo: install
	$(VENV)/bin/kehu demo $(ARGS)

test: install-dev
	scripts/run-tests all

lint: install-dev
	scripts/run-tests lint

test-sqlite: install-dev
	scripts/run-tests sqlite

test-pg: install-dev
	scripts/run-tests pg

# Retake the README's pictures of the home page (docs/screenshots/*.png) in headless Chromium.
screenshots: install-dev
	KEHU_SCREENSHOTS=1 PYTEST_ARGS="kehu/web/tests/browser -k screenshots" scripts/run-tests sqlite

install:
	@scripts/ensure-venv

install-dev:
	@scripts/ensure-venv dev

clean:
	rm -rf $(VENV) build dist *.egg-info test-results
	find kehu -name __pycache__ -type d -prune -exec rm -rf {} +
