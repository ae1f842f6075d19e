"""Evidence: read-only checks run concurrently against Azure, each ending in a CheckResult."""
