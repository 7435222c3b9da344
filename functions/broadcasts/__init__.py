"""Broadcasts: mass messages to a segment, frozen at send time, measured against a holdout."""
