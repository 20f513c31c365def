"""Who is calling: API bearer tokens (service tokens, user JWTs, JWKS) and staff accounts."""
