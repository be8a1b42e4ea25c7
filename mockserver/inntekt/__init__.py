"""The Inntekt API v1 (a-ordningen) fake."""
