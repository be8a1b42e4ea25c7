"""The Inntekt hendelser API v1 fake: a feed of a-ordningen months reported for a person."""
