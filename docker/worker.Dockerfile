# The GPU worker: CUDA runtime base, the project's torch build, one worker process per GPU.
#   docker build -f docker/worker.Dockerfile -t certify-worker .
# The CPU worker is the same file on a plain base with a CPU torch build (docs/DEPLOY.md):
#   --build-arg CUDA_BASE=<Debian or Ubuntu image> --build-arg TORCH="torch==<version>+cpu"
ARG CUDA_BASE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
FROM ${CUDA_BASE}

# The same torch build as `make install` (the PyPI wheels carry their CUDA libraries).
ARG TORCH="torch==2.14.1 torchvision==0.29.1"
# The build host's package index settings, if it needs them (e.g. a CA bundle or a local
# wheel folder mounted with `podman build -v`); nothing of them stays in the image.
ARG PIP_CERT
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# A base that already has Python's venv (the local Debian one) skips apt.
# hadolint ignore=DL3008
RUN python3 -m venv /opt/venv 2>/dev/null \
    || { apt-get update \
         && apt-get install -y --no-install-recommends python3 python3-venv \
         && rm -rf /var/lib/apt/lists/* \
         && python3 -m venv /opt/venv; }

# Its own layer: the largest, and the one that changes least. TORCH is a list of requirements.
# hadolint ignore=SC2086,DL3013
RUN pip install --no-cache-dir $TORCH

WORKDIR /srv/certify
COPY pyproject.toml README.md constraints.txt ./
COPY certify_contract ./certify_contract
COPY certify_core ./certify_core
COPY certify_media ./certify_media
COPY certify_jobs ./certify_jobs
COPY certify_settings ./certify_settings
COPY certify_store ./certify_store
COPY certify_datasets ./certify_datasets
COPY certify_client ./certify_client
COPY certify_cli ./certify_cli
COPY app ./app
COPY worker ./worker
# The tested versions of everything but torch, which the layer above chose.
RUN grep -vE '^torch(vision)?==' constraints.txt > /tmp/constraints.txt \
    && pip install --no-cache-dir -c /tmp/constraints.txt '.[worker]' \
    && pip uninstall --yes --quiet pip setuptools \
    && rm -rf build ./*.egg-info /tmp/constraints.txt \
    && useradd --system --uid 10001 --user-group --create-home certify \
    && mkdir -p /models /data && chown certify:certify /models /data

# Models mount at /models (see docker-compose.yml); the shipped default model needs none.
ENV CERTIFY_MODEL_DIR=/models \
    CERTIFY_DATA_DIR=/data \
    CERTIFY_LOG_FORMAT=json \
    CERTIFY_WORKER_METRICS_PORT=9100 \
    CERTIFY_WORKER_METRICS_HOST=0.0.0.0

USER 10001:10001
EXPOSE 9100
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "worker.per_gpu", "--check"]
CMD ["python", "-m", "worker.per_gpu"]
