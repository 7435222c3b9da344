"""The audit trail: who changed what in the ops console, and when."""
