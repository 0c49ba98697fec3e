# The two entry points are `make run` and `make test`; both rest on `make install`.

VENV        := .venv
BIN         := $(VENV)/bin
PYTHON      ?= python3
PORT        ?= 8000
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_MAJOR    := $(shell ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
# WeasyPrint (packs as PDF) draws text with Pango, in the DejaVu fonts.
RUN_PACKAGES  := libsqlite3-mod-spatialite python3-venv libpango-1.0-0 libpangoft2-1.0-0 \
                 libharfbuzz-subset0 fonts-dejavu-core
TEST_PACKAGES := $(RUN_PACKAGES) chromium chromium-driver poppler-utils $(if $(PG_MAJOR),postgresql-$(PG_MAJOR)-postgis-3)

.PHONY: install install-test run test lint format messages bench soak clean

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installation des paquets système :$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

install: $(VENV)/.installed  ## virtual environment, the packages that run the product
	$(call apt_install,$(RUN_PACKAGES))
	@$(BIN)/pybabel compile -d ohpunaises/translations >/dev/null

install-test: install $(VENV)/.installed-test  ## and what the tests need besides
	$(call apt_install,$(TEST_PACKAGES))

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# The embedded database's settings, kept for every command run in this checkout afterwards
# (`.venv/bin/ohpunaises …` reads them too); the environment still wins over them.
instance/settings.env:
	@mkdir -p instance
	@printf '# Written by make run: settings of the embedded database of this checkout.\nOHPUNAISES_ENV=development\n' > $@

run: install instance/settings.env  ## initialise the embedded database and serve on http://127.0.0.1:$(PORT)
	$(BIN)/ohpunaises init
	@echo "Oh Punaises! est servi sur http://127.0.0.1:$(PORT) (Ctrl+C pour arrêter)."
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-test lint  ## the whole suite, on SpatiaLite and on PostGIS
	$(BIN)/pytest

bench: install-test  ## every benchmark against its baseline, on scratch PostGIS databases
	$(BIN)/python bench/run.py

soak: install-test  ## the reliability suite at full size
	OHPUNAISES_SOAK=full $(BIN)/pytest -rP tests/test_reliability.py

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install  ## refresh the translation catalogues from the source
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
	  -o ohpunaises/translations/messages.pot .
	$(BIN)/pybabel update -i ohpunaises/translations/messages.pot -d ohpunaises/translations \
	  -w 100 --ignore-obsolete --no-fuzzy-matching
	rm ohpunaises/translations/messages.pot
	@# French is the source language: its catalogue holds only the plural forms, each the
	@# source's own, so that French counts follow French rules ("0 personne").
	$(BIN)/python -c 'from babel.messages.pofile import read_po, write_po; \
	  path = "ohpunaises/translations/fr/LC_MESSAGES/messages.po"; \
	  catalogue = read_po(open(path, "rb")); \
	  [setattr(m, "string", (m.id[0],) + (m.id[1],) * (catalogue.num_plurals - 1)) \
	   for m in catalogue if isinstance(m.id, tuple)]; \
	  write_po(open(path, "wb"), catalogue, width=100, sort_output=True, ignore_obsolete=True)'

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
