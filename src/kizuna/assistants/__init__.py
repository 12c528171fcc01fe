"""AI assistants: kizuna as a Model Context Protocol server (read tools and safe write tools under API-key scopes)."""
