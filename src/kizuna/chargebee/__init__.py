"""Chargebee: customers, subscriptions, invoices and payments kept in step with billing, by webhooks (HTTP Basic
auth) and a resumable back-fill through Chargebee's own Python library (docs/connectors.md)."""
