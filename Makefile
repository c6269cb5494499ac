# Lessons KB: `make run` sets up, ingests the sample corpus and serves the app; `make test` sets up
# and runs lint and the tests. Both work on a fresh machine (Python 3.11, Debian).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PORT ?= 8501

.PHONY: run test setup system-deps lint ingest serve bench eval screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need: Chromium for the browser tests, DejaVu for Vietnamese PDFs,
# Tesseract (OCR of scanned PDFs) and antiword (.doc); `make ingest` installs the last two only.
system-deps:
	@bash scripts/system-deps.sh

ingest: setup
	@bash scripts/system-deps.sh ingest
	$(BIN)/kb ingest corpus/

serve: setup
	$(BIN)/kb serve --port $(PORT)

run: ingest
	@echo "Serving Lessons KB on http://127.0.0.1:$(PORT) (Ctrl+C to stop)."
	@echo "From a shell: $(BIN)/kb search 'iParking' or $(BIN)/kb ask 'Vì sao iParking không thành công?'"
	$(BIN)/kb serve --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup system-deps lint
	$(BIN)/python -m pytest -q

eval: setup
	$(BIN)/kb eval --mode all --out evals/reports/latest-retrieval
	$(BIN)/kb eval --answers --out evals/reports/latest-answers

# docs/screenshots/ from the app over a copy of the ingested sample corpus (data/ is not written)
screenshots: ingest system-deps
	$(BIN)/python scripts/screenshots.py data

bench: setup
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/ask.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
