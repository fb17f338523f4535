"""The model registry over HTTP: POST /models, GET /models/{name}, DELETE /models/{name}@{version}."""
