"""HTTP plumbing every blueprint shares: auth hook, errors, limits, CORS, logs, metrics, docs."""
