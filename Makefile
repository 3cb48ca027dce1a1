# yt8m-tfx. `make run` and `make test` both create/refresh the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

# Where `make run` puts its synthetic data and pipeline outputs.
RUN_DIR ?= tfx_output
# Training length follows the data (--num_epochs with keep-best, pipeline/configs.py); RUN_ARGS adds flags.
RUN_ARGS ?=

.PHONY: venv run test test-fast notebook schema bench bench-report clean flink-install flink-up flink-down flink-status

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
	$(PY) local_runner.py --pipeline_root=$(RUN_DIR) $(RUN_ARGS)

test: venv
	$(PY) -m pytest -v -rs --durations=15 tests

test-fast: venv
	$(PY) -m pytest -q -m "not slow" tests

# JupyterLab on notebooks/tfma_slices.ipynb for the last `make run`; NOTEBOOK_ROOT=<pipeline root> for another,
# NOTEBOOK_ARGS for JupyterLab's own flags (e.g. --no-browser --port 8899).
NOTEBOOK_ROOT ?= $(RUN_DIR)
NOTEBOOK_ARGS ?=
notebook: venv
	YT8M_PIPELINE_ROOT=$(abspath $(NOTEBOOK_ROOT)) $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(NOTEBOOK_ARGS) tfma_slices.ipynb

# A local Flink cluster for --beam_runner=flink (cluster/flink.py): a JobManager (web UI localhost:8081), 2
# TaskManagers, Beam's job server and the SDK worker pool. Downloads once into ~/.cache/yt8m-tfx.
flink-install: venv
	$(PY) -m cluster.flink install

flink-up: venv
	$(PY) -m cluster.flink up

# Stops exactly the processes flink-up recorded (by pid); the standard library is enough for that.
flink-down:
	$(PYTHON) -m cluster.flink down

flink-status:
	$(PYTHON) -m cluster.flink status

schema: venv
	$(PY) -m yt8m_tfx.schema

# Benchmarks (bench/, not tests): about 6 hours on 2 cores; `nice -n 10 make bench` on a shared machine.
# Each writes bench/results/<name>.json; bench.report then regenerates the README results section and
# bench/results/summary.csv. Real-data benchmarks print "skipped" without ../shared/yt8m_sample.
# The real_data_pipeline / plain_keras JSONs are kept as measured at 25abffc (before issue #13's defaults).
bench: venv
	$(PY) -m bench.video_models
	$(PY) -m bench.video_models --issue_size
	$(PY) -m bench.cross_validation --recipe video_level_fast
	$(PY) -m bench.cross_validation --recipe video_level_best
	$(PY) -m bench.cross_validation --recipe video_level_best --folds 40 --run_folds 0-3,20-23
	$(PY) -m bench.scaling --shards 16 32 64 128 256
	$(PY) -m bench.scaling --shards 16 256 --big_data
	$(PY) -m bench.multi_worker
	$(PY) -m bench.frame_level
	$(PY) -m bench.genuine_frames
	$(PY) -m bench.make_run
	$(PY) -m bench.gap_plugin --videos 100000
	$(PY) -m bench.shard_check
	$(MAKE) flink-up && $(PY) -m bench.flink_cost
	$(PY) -m bench.models
	$(PY) -m bench.precision
	$(PY) -m bench.scoring --precisions float32 mixed_bfloat16
	$(PY) -m bench.report

bench-report: venv
	$(PY) -m bench.report

clean:
	rm -rf $(RUN_DIR)
