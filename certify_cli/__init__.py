"""The `certify` command line: local certification, the service, research tools."""
