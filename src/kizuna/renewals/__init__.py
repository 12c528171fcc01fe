"""Renewal center and expansion pipeline."""
