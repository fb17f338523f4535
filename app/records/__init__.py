"""The API's side of the record store: turning live jobs and batches into records, and the drainer."""
