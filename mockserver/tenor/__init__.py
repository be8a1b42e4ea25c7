"""Tenor testdatasøk: Skatteetaten's search over Test-Norge, here over the sandbox's own population."""
