"""Requests into a FastAPI app in-process, with its lifespan (the Redis connection) running."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI

from app.main import create_app
from certify_settings import Settings


class AppClient:
    def __init__(self, app: FastAPI, runner: asyncio.Runner) -> None:
        self.app, self.runner = app, runner
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def get(self, path: str) -> httpx.Response:
        return self.runner.run(self.http.get(path))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.request(method, path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.post(path, **kwargs))


def running(settings: Settings) -> Iterator[AppClient]:
    app = create_app(settings)
    with asyncio.Runner() as runner:
        lifespan = app.router.lifespan_context(app)
        runner.run(lifespan.__aenter__())
        client = AppClient(app, runner)
        try:
            yield client
        finally:
            runner.run(client.http.aclose())
            runner.run(lifespan.__aexit__(None, None, None))
