"""Identity primitives: password hashing, access tokens, API keys, and the request principal."""
