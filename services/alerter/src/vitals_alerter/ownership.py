"""Which partitions this replica may evaluate now: the pipeline asks before every batch.

`vitals_core.leases.LeaseKeeper` is the implementation; tests may pass anything that fits.
"""

from __future__ import annotations

from typing import Protocol


class Ownership(Protocol):
    def usable(self) -> set[int]:
        """Partitions this replica may evaluate at this moment."""
        ...

    def releasing(self) -> set[int]:
        """Usable partitions to hand back once their effects are saved."""
        ...

    async def release(self, partitions: set[int]) -> None:
        """Hand back partitions whose effects are all saved."""
        ...
