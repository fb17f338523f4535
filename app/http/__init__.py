"""HTTP plumbing every feature shares: the Redis backend, errors, API keys, body limits and
deadlines, idempotency keys, callback URLs, metrics and the OpenAPI document."""
