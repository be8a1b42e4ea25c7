"""FA-001…006: the codes every Skatteetaten event feed shares (kept once in hendelser/errors.py)."""

from ..hendelser.errors import FA

__all__ = ["FA"]
