"""The HTTP API of the certification service (FastAPI). Never imports torch."""
