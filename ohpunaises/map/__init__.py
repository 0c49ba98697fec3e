"""Territorial maps."""
