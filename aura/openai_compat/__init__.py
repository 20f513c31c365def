"""OpenAI's chat-completions protocol in front of AURA's chat: point an OpenAI SDK's base URL at AURA."""
