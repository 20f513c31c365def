"""Chat's own metrics: turns by outcome and the model's latency (both chat protocols count here)."""

from prometheus_client import Counter, Histogram

# aura_chat_calls_total{outcome}: ok, streamed (then stream_error if it broke), dry_run, or the failure.
CHAT_CALLS = Counter("aura_chat_calls_total", "Chat turns by outcome", ["outcome"])
# A completed turn the database would not keep (the user still got the reply).
TURNS_NOT_RECORDED = Counter(
    "aura_chat_turns_not_recorded_total", "Completed chat turns that failed to be recorded"
)
MODEL_LATENCY = Histogram(
    "aura_chat_model_seconds",
    "Time until the model's answer began (the whole reply, or a stream's headers)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
