"""The client-test kit: the `ske_sandbox` pytest fixture, the documented error codes, and (with the
`testkit` extra) Hypothesis strategies drawn from the contracts."""

from .answers import OffContractAnswer
from .errors import ERROR_CODES, ErrorCode

__all__ = ["ERROR_CODES", "ErrorCode", "OffContractAnswer"]
