# `make demo` and `make test` each set up .venv by themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.i2i-installed
DEMO_DIR ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo test install clean chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Trains StarGAN on the shapes world (about 10 minutes on 2 CPU cores), then scores it with the oracle.
demo: $(STAMP)
	$(BIN)/i2i train stargan --config configs/stargan_shapes_demo.yaml --out $(DEMO_DIR)
	$(BIN)/i2i eval $(DEMO_DIR) | tee $(DEMO_DIR)/eval.txt
	$(BIN)/i2i eval $(DEMO_DIR) --json > $(DEMO_DIR)/eval.json
	@echo "sample grids: $(DEMO_DIR)/samples/   oracle report: $(DEMO_DIR)/eval.txt"

# The browser tests drive Debian's chromium (playwright's own browser downloads are never used).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium) || echo "no chromium: the browser tests will skip"

# Two workers with one thread each: two torch processes sharing 2 cores with 2 threads each crawl.
test: $(STAMP) chromium
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --durations=10

clean:
	rm -rf $(VENV) .pytest_cache
