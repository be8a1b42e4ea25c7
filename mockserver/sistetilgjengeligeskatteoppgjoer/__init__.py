"""The Siste tilgjengelige skatteoppgjør API v1 fake (real clients call it before asking for a year)."""
