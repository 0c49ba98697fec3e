"""Oh Punaises! field-data platform."""
