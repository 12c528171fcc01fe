"""Playbooks: trigger + conditions + actions, versioned YAML, dry runs, run log, idempotent execution."""
