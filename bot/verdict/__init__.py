"""Verdict: findings -> cause, confidence, suspected change and rollback candidate (pure)."""
