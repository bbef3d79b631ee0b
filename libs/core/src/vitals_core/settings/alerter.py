from __future__ import annotations

import msgspec


class AlerterSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Warning levels of the built-in rules (the seed's ALERT_THRESHOLDS_* variables).
    cpu_warning: float = 80.0
    memory_warning: float = 85.0
    disk_warning: float = 90.0

    def __post_init__(self) -> None:
        for name in ("cpu_warning", "memory_warning", "disk_warning"):
            if not 0.0 < getattr(self, name) <= 100.0:
                raise ValueError(f"{name} must be a percentage between 0 and 100")
