# Vägvisare. `make run` and `make test` are the two set-up commands; everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRACT_KEYWORDS := -k _ -k N_ -k n_:1,2 -k K_:1c,2

.PHONY: run test install compile-translations extract-translations update-translations db sample lint bench clean \
	translation-coverage new-catalog

run: install compile-translations db sample
	$(BIN)/vagvisare run

test: install compile-translations
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

compile-translations: install
	$(BIN)/pybabel compile --statistics -d locales -D messages

extract-translations: install
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_KEYWORDS) --add-comments=Translators: --sort-by-file \
		--project=Vagvisare --msgid-bugs-address=translations@vagvisare.example -o locales/messages.pot .

update-translations: extract-translations
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --ignore-obsolete
	$(BIN)/python scripts/translation_coverage.py --write

# The coverage table of docs/translators.md, made from the catalogs.
translation-coverage: install
	$(BIN)/python scripts/translation_coverage.py --write

# A new language's catalog with its Babel locale and plural rules: make new-catalog CODE=ar
new-catalog: install
	@test -n "$(CODE)" || { echo "usage: make new-catalog CODE=<code from dialogs/languages.py>"; exit 2; }
	$(BIN)/python scripts/new_catalog.py $(CODE)

db: install
	$(BIN)/vagvisare db upgrade

sample: db
	$(BIN)/vagvisare catalog load

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install compile-translations
	@for script in $(wildcard bench/*.py); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var locales/*/LC_MESSAGES/*.mo
