"""Certification jobs: the submit form and its options, queueing, polling, listing, canceling."""
