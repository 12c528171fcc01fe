"""funnel."""
