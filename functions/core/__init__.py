"""Shared core: settings, clock, errors, HTTP helpers, AWS access and storage base."""
