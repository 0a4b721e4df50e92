# make demo : create .venv, install everything, run the demo job on generated data
# make test : same set-up, then the test suite
# make lint : same set-up, then ruff, the docstring dialect check, the docs links and a strict docs build (.ci/run
#             runs it before the tests)
# make docs : same set-up, then the documentation site into site/ (mkdocs, Material theme; offline)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.beitmm-installed

.PHONY: setup demo test lint docs clean-venv

$(STAMP): tools/setup_env.sh setup.py requirements/runtime.txt requirements/mminstall.txt requirements/tests.txt requirements/optional.txt requirements/build.txt requirements/hf5.txt requirements/lint.txt requirements/multimodal.txt requirements/reference.txt requirements/captioning.txt \
		requirements/seq2seq.txt requirements/he.txt requirements/docs.txt requirements/detection.txt \
		requirements/deploy.txt requirements/webdemo.txt requirements/realdata.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider --durations=25

# ruff (lint + import order, configured in ruff.toml), the docstring dialect check, the docs' links and paths,
# and the docs build in strict mode (any warning, broken link or missing anchor fails)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest tests/test_style.py tests/test_docs/test_links.py -q -p no:cacheprovider
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean-venv:
	rm -rf $(VENV)
