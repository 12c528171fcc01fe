"""Outbound messages: tech-touch emails (SMTP or outbox) and webhooks/Slack, each sent at most once."""
