"""Lifecycle stages, onboarding plans and success plans."""
