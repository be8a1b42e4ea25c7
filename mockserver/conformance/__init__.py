"""Request conformance: one checker, used by the pytest kit and by the server's journal."""
