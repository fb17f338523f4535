"""The dashboard: a page and its static assets, a client of the public API only."""
