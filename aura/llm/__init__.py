"""The OpenAI-compatible model client and its settings, shared by chat and consolidation."""
