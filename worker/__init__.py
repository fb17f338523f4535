"""The RQ worker of the certification service: models loaded once, jobs run in-process."""
