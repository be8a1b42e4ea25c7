"""The sandbox's own control API under /__sandbox/ and its OpenAPI document."""
