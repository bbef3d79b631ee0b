"""Which partitions this replica may evaluate now: the pipeline asks before every batch."""

from __future__ import annotations

from collections.abc import Iterable
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


class Fixed:
    """A fixed set of partitions (one replica owning everything, or tests)."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = set(partitions)

    def usable(self) -> set[int]:
        return set(self.partitions)

    def releasing(self) -> set[int]:
        return set()

    async def release(self, partitions: set[int]) -> None:
        self.partitions -= partitions
