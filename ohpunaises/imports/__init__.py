"""Importing partners' spreadsheets: reading, mapping, checking, storing."""
