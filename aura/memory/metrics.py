"""The memory layer's own metrics (served at /metrics with every other collector)."""

from prometheus_client import Counter

MEMORY_SAVES = Counter("aura_memory_saves_total", "Memories written", ["source"])
