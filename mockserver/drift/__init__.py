"""Holding the sandbox to recorded truth: HAR files of calls to the real services, redacted, checked
against the contracts and compared with what the sandbox answers for the same kind of call (`drift`),
and a forwarding proxy that records such a file (`record`)."""
