"""Consolidation's own metrics: outcomes, time and the model tokens it spends."""

from prometheus_client import Counter, Histogram

# Consolidations by outcome: changed, unchanged, preview, conflict (lost the race twice, or a pinned
# version moved), memory_disabled, or the model failure (model_error, timeout, bad_answer...).
CONSOLIDATIONS = Counter("aura_consolidations_total", "Memory consolidations by outcome", ["outcome"])
CONSOLIDATION_SECONDS = Histogram(
    "aura_consolidation_seconds",
    "Time a consolidation took, model calls included",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
CONSOLIDATION_TOKENS = Counter(
    "aura_consolidation_tokens_total", "Model tokens spent on consolidations", ["kind"]
)
