"""tshark as a library: running it and reading its output (`--crosscheck`)."""
