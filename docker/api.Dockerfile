# The HTTP API: slim Python, no torch (the API never imports it).
#   docker build -f docker/api.Dockerfile -t certify-api .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CERTIFY_LOG_FORMAT=json

WORKDIR /srv/certify
COPY docker/requirements-api.txt /tmp/requirements-api.txt
RUN pip install --no-cache-dir -r /tmp/requirements-api.txt

# Only the packages the API imports; `--no-deps` keeps torch out of the image.
COPY pyproject.toml README.md ./
COPY app ./app
COPY certify_contract ./certify_contract
COPY certify_jobs ./certify_jobs
COPY certify_settings ./certify_settings
COPY certify_store ./certify_store
COPY certify_media ./certify_media
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info \
    && useradd --system --uid 10001 --user-group --no-create-home certify \
    && mkdir -p /data && chown certify:certify /data

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["python", "-m", "app", "--host", "0.0.0.0", "--port", "8000"]
