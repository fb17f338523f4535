# The GPU worker: CUDA runtime base, the project's torch build, one worker process per GPU.
#   docker build -f docker/worker.Dockerfile -t certify-worker .
ARG CUDA_BASE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
FROM ${CUDA_BASE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

# The same torch build as `make install` (the PyPI wheels carry their CUDA libraries).
RUN pip install --no-cache-dir torch==2.14.1 torchvision==0.29.1

WORKDIR /srv/certify
COPY pyproject.toml README.md ./
COPY certify_contract ./certify_contract
COPY certify_core ./certify_core
COPY certify_media ./certify_media
COPY certify_jobs ./certify_jobs
COPY certify_settings ./certify_settings
COPY certify_store ./certify_store
COPY certify_cli ./certify_cli
COPY app ./app
COPY worker ./worker
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info \
    && useradd --system --uid 10001 --user-group --create-home certify \
    && mkdir -p /models /data && chown certify:certify /models /data

# Models mount at /models (see docker-compose.yml); the shipped default model needs none.
ENV CERTIFY_MODEL_DIR=/models \
    CERTIFY_LOG_FORMAT=json \
    CERTIFY_WORKER_METRICS_PORT=9100 \
    CERTIFY_WORKER_METRICS_HOST=0.0.0.0

USER 10001:10001
EXPOSE 9100
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "worker.per_gpu", "--check"]
CMD ["python", "-m", "worker.per_gpu"]
