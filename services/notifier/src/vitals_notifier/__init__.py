"""Vitals' notifier."""

__version__ = "0.1.0"
