"""The onboarding web page: its own routes, templates and static files."""
