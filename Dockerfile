# Pipeline image for Kubeflow Pipelines (KFP v2): the pinned stack plus this project.
# Build and push:  docker build -t REGISTRY/yt8m-tfx:TAG . && docker push REGISTRY/yt8m-tfx:TAG
# Beam's SDK container boot program, so the same image also serves as the Python SDK worker image of a
# portable runner (--beam_environment_type=DOCKER, or PROCESS with {"command": "/opt/apache/beam/boot"}).
# Its version is the apache-beam pin of requirements.lock (tests/test_kubeflow_runner.py checks).
ARG BEAM_VERSION=2.62.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS beam_sdk

FROM python:3.11-slim-bookworm
COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam

# TFT/TFMA need Keras 2 in every executor and Beam worker process.
ENV TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /yt8m_tfx
COPY requirements.txt requirements-kubeflow.txt requirements.lock ./
# kfp-pipeline-spec is read by the KFP v2 executor entrypoint inside the container.
RUN pip install --no-cache-dir --ignore-requires-python -r requirements.txt -r requirements-kubeflow.txt \
        -c requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
# As an SDK worker the runner starts the container with the boot program's flags; KFP names its own command.
ENTRYPOINT ["/opt/apache/beam/boot"]
