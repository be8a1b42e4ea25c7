"""The Skatteoppgjør hendelser API v1 fake: a feed of settled (NY) and deleted (SLETTET) income years."""
