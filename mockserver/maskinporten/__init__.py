"""The Maskinporten fake: JWT-bearer grant → access token, discovery, JWKS."""
