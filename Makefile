# Astro: the two commands a newcomer needs.
#   make demo  - run Astro (web, worker, beat, Steam sandbox) on this machine
#   make test  - check the import contracts (.importlinter), then run the whole test
#                suite on real PostgreSQL and Redis
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: demo test install

install: $(INSTALLED)

# Re-install whenever requirements.txt changes.
$(INSTALLED): requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	@touch $(INSTALLED)
	@echo "Installed Python dependencies into $(VENV)"

demo: $(INSTALLED)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(VENV)/bin/python manage.py demo

test: $(INSTALLED)
	@scripts/ensure-browser
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/python -m pytest $(PYTEST_ARGS)
