"""Record-repository helpers shared by the tests that write records directly."""

from __future__ import annotations

from imgflow.records import ImageRepository


def claim(
    repo: ImageRepository, seq: str, run: str, *, image_id: str = "img1", reprocess: bool = False
) -> None:
    """``run`` claims alice's upload of ``image_id`` (bucket ``b``, sequencer ``seq``, pipeline ``v1``)."""
    repo.claim(
        image_id=image_id,
        owner="alice",
        bucket="b",
        key=f"uploads/alice/{image_id}",
        sequencer=seq,
        execution_arn=run,
        pipeline_version="v1",
        reprocess=reprocess,
    )
