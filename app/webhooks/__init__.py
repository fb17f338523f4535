"""Webhooks: the delivery tasks that POST a job's or a batch's final view, and their worker."""
