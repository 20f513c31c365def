"""Per-user memory: the service (all reads and writes) and its JSON API."""
