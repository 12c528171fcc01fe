"""Stripe: customers, subscriptions, invoices and payments kept in step with billing, by signed webhooks and a
resumable back-fill through Stripe's own Python library (docs/connectors.md)."""
