"""Vitals' gateway: REST API, live stream, rolling windows, dashboard."""

__version__ = "0.1.0"
