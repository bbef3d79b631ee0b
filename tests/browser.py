"""Debian's Chromium as the dashboard's tests and benchmark launch it (no browser download)."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("VITALS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, and quiet on a machine with no network but the loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
