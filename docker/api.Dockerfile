# The HTTP API: slim Python, no torch (the API never imports it; torch is the `worker` extra).
#   docker build -f docker/api.Dockerfile -t certify-api .
# Hosts without a registry pass a local Debian base: --build-arg PYTHON_BASE=... (docs/DEPLOY.md).
ARG PYTHON_BASE=python:3.11-slim-bookworm
FROM ${PYTHON_BASE}

# The build host's package index settings, if it needs them (e.g. a CA bundle mounted with
# `podman build -v`); nothing of them stays in the image.
ARG PIP_CERT
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    CERTIFY_LOG_FORMAT=json \
    CERTIFY_DATA_DIR=/data

WORKDIR /srv/certify
# Only the packages the API imports; the project's own dependencies are the API's (no extras),
# at the tested versions. pip and setuptools leave the image with the build.
COPY pyproject.toml README.md constraints.txt ./
COPY app ./app
COPY certify_contract ./certify_contract
COPY certify_jobs ./certify_jobs
COPY certify_settings ./certify_settings
COPY certify_store ./certify_store
COPY certify_media ./certify_media
RUN python3 -m venv /opt/venv \
    && pip install --no-cache-dir -c constraints.txt . \
    && pip uninstall --yes --quiet pip setuptools \
    && rm -rf build ./*.egg-info \
    && useradd --system --uid 10001 --user-group --no-create-home certify \
    && mkdir -p /data && chown certify:certify /data

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["python", "-m", "app", "--host", "0.0.0.0", "--port", "8000"]
