"""Tests of kizuna.analytics.ltv, checked against published estimates."""
