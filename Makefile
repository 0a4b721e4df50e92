# make demo : create .venv, install everything, run the demo job on generated data
# make test : same set-up, then the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.beitmm-installed

.PHONY: setup demo test clean-venv

$(STAMP): tools/setup_env.sh setup.py requirements/runtime.txt requirements/mminstall.txt requirements/tests.txt requirements/optional.txt requirements/build.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
