"""Segments, touch tiers, RFM and CSM coverage."""
