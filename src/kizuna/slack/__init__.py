"""Slack: playbook messages with buttons (Block Kit, through the outbox) and the signed button clicks that act back."""
