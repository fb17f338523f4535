"""What the tests, the scripts and the benchmarks share: real processes (redis-server, the API,
workers), small test models, generated media (good and hostile), a webhook receiver, and the
fault-injection run. Not part of the product: no product package imports it."""
