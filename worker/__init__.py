"""The RQ worker of the certification service: models loaded once, jobs run in-process.

Kept free of imports so that `python -m worker.decode_server` starts small.
"""
