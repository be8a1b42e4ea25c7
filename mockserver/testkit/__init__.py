"""The pytest kit: the sandbox in-process, no socket."""
