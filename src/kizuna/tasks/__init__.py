"""Tasks: calls to action for the CS team (from playbooks or by hand)."""
