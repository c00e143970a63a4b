# poisonlab — build, test and run. `make demo` and `make test` each work alone
# on a fresh Debian machine: both install missing system packages first.

SWIFT      ?= swift
BIN        := .build/release/poisonlab
APT_PACKAGES := libblas-dev liblapacke-dev libopenblas0-pthread zlib1g-dev dataset-fashion-mnist \
                python3 python3-jsonschema python3-numpy python3-sklearn

.PHONY: deps build test check html-check fanout fuzz demo bench lint format clean

# Installs the Debian packages that are missing (apt-get update first); as
# root only, otherwise prints the exact command and stops. Python modules come
# from apt too (Debian's python3 refuses pip installs, PEP 668); the tests run
# the Python scripts with /usr/bin/python3, Debian's interpreter.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build -c release --product poisonlab

test: deps
	$(SWIFT) test

# The quickstart (a backdoor against fedavg), then the same attack against the median.
# The regression checks of scenarios/regression (expect thresholds; JUnit in .build/).
check: build
	$(BIN) check scenarios/regression/*.json --junit .build/regression-junit.xml

# The HTML report rendered by headless Chromium (Debian's chromium, installed
# here when missing, as root): as many SVG figures in the DOM as in the file,
# and a screenshot in .build/report-screenshot.png.
html-check: build
	@command -v chromium > /dev/null || { if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "run: sudo apt-get install -y chromium"; exit 1; fi; }
	scripts/html-check.sh

# A sweep fanned out by GNU parallel and by a Slurm job array (single-node
# cluster started and stopped here, as root) must merge to the unsharded rows.
fanout: build
	scripts/fanout-check.sh

# libFuzzer targets (Fuzz/) with the address sanitizer, FUZZ_SECONDS each
# (default 60) on the committed seed corpus; a crash fails (see README, Reliability).
fuzz: deps
	scripts/fuzz.sh

demo: build
	$(BIN) run scenarios/quickstart.json --format table
	@echo
	@echo "The same attack against the coordinate-wise median:"
	$(BIN) run scenarios/quickstart.json --format table --set defense.name=median --set 'expect={"attack_success": {"max": 0.2}}' 

bench: build
	$(BIN) bench --min-cnn-ratio 0.6
	scripts/bench-coordinatewise.sh
	scripts/bench-numpy-training.sh

lint:
	$(SWIFT) format lint --strict --parallel --recursive Sources Tests Package.swift Fuzz

format:
	$(SWIFT) format format --in-place --parallel --recursive Sources Tests Package.swift Fuzz

clean:
	rm -rf .build
