"""Users, roles, sessions, CSRF and API keys."""
