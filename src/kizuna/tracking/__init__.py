"""Segment-compatible HTTP tracking API: product usage events in, Parquet files out."""
