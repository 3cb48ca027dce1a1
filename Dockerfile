# Pipeline image for Kubeflow Pipelines (KFP v2): the pinned stack plus this project.
# Build and push:  docker build -t REGISTRY/yt8m-tfx:TAG . && docker push REGISTRY/yt8m-tfx:TAG
FROM python:3.11-slim-bookworm

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
