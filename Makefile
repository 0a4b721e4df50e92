# make demo : create .venv, install everything, run the demo job on generated data
# make test : same set-up, then the test suite
# make lint : same set-up, then ruff and the docstring dialect check (.ci/run runs it before the tests)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.beitmm-installed

.PHONY: setup demo test lint clean-venv

$(STAMP): tools/setup_env.sh setup.py requirements/runtime.txt requirements/mminstall.txt requirements/tests.txt requirements/optional.txt requirements/build.txt requirements/hf5.txt requirements/lint.txt requirements/multimodal.txt requirements/reference.txt requirements/captioning.txt \
		requirements/seq2seq.txt requirements/he.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider

# ruff (lint + import order, configured in ruff.toml) and the docstring dialect check
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest tests/test_style.py -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
