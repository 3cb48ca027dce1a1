# yt8m-tfx. `make run` and `make test` both create/refresh the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

# Where `make run` puts its synthetic data and pipeline outputs.
RUN_DIR ?= tfx_output
# 200 steps x 1024 is ~100 epochs of the 2,000 synthetic videos: enough, and keeps `make run` short.
TRAIN_STEPS ?= 200
RUN_ARGS ?=

.PHONY: venv run test test-fast schema bench bench-report clean

venv: $(VENV)/.installed

# --ignore-requires-python: TFX 1.16 declares Python < 3.11 but its cp311 wheels work (README).
# requirements.lock pins every transitive package so pip resolves in seconds instead of backtracking.
$(VENV)/.installed: requirements.txt requirements-kubeflow.txt requirements-dev.txt requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --ignore-requires-python \
	    -r requirements.txt -r requirements-dev.txt -c requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: venv
	$(PY) local_runner.py --pipeline_root=$(RUN_DIR) --train_steps=$(TRAIN_STEPS) $(RUN_ARGS)

test: venv
	$(PY) -m pytest -v -rs --durations=15 tests

test-fast: venv
	$(PY) -m pytest -q -m "not slow" tests

schema: venv
	$(PY) -m yt8m_tfx.schema

# Benchmarks (bench/, not tests): about 1.5 hours on 2 cores; `nice -n 10 make bench` on a shared machine.
# Each writes bench/results/<name>.json; bench.report then regenerates the README results section and
# bench/results/summary.csv. Real-data benchmarks print "skipped" without ../shared/yt8m_sample.
bench: venv
	$(PY) -m bench.real_data_pipeline --model=LogisticModel
	$(PY) -m bench.real_data_pipeline --model=MoeModel
	$(PY) -m bench.plain_keras --model=LogisticModel
	$(PY) -m bench.plain_keras --model=LogisticModel --seed=1 --output=plain_keras_LogisticModel_seed1.json
	$(PY) -m bench.plain_keras --model=MoeModel
	$(PY) -m bench.scaling --shards 16 32 64 128 256
	$(PY) -m bench.make_run --train_steps=$(TRAIN_STEPS)
	$(PY) -m bench.gap_plugin --videos 100000
	test ! -f bench/models.py || $(PY) -m bench.models
	$(PY) -m bench.report

bench-report: venv
	$(PY) -m bench.report

clean:
	rm -rf $(RUN_DIR)
