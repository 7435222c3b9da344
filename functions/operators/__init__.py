"""Operator accounts of the ops console: passwords, roles, sign-in with lockout (CONTRACT §10)."""
