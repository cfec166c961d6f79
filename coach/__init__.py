"""Mentor Coach."""
