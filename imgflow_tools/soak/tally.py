"""What a soak line counts: the uploads of a run against the records and executions they left."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Tally:
    """Accepted uploads, their records, and how many were lost, duplicated, stuck, wrong or retried."""

    uploads: int = 0
    records: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    wrong: int = 0
    retries: int = 0

    @property
    def ok(self) -> bool:
        """Every upload ended once, as it should, and none is still running."""
        return self.lost == self.duplicated == self.stuck == self.wrong == 0

    def soak_line(self, wall_s: float) -> str:
        """``soak uploads=N records=N lost=L duplicated=D stuck=S wrong=W retries=R wall_s=T``."""
        return (
            f"soak uploads={self.uploads} records={self.records} lost={self.lost} "
            f"duplicated={self.duplicated} stuck={self.stuck} wrong={self.wrong} retries={self.retries} "
            f"wall_s={wall_s:.1f}"
        )
