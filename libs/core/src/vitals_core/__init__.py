"""Vitals' shared parts: event schemas, subjects, Redis keys, settings, the bus, the runtime."""

__version__ = "0.1.0"
