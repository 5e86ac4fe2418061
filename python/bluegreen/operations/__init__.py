"""The runbooks: every operation runs in the one frame (frame.py)."""
