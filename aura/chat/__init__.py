"""Memory-aware chat: message assembly, the OpenAI-compatible client, and the endpoint."""
