"""Lambda entry point of the Claim and Record* states."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgflow.config import settings
from imgflow.models import ClaimInput, RecordInput, ReuseInput
from imgflow.observability import logger, metrics, tracer
from tasks.record.service import claim, finish, reuse


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RecordInput)
def lambda_handler(event: RecordInput, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, ClaimInput):
        image = claim(event, settings())
        logger.set_correlation_id(image.id)
        logger.info("claimed", extra={"key": image.key, "sequencer": image.sequencer})
        return image.model_dump()
    if isinstance(event, ReuseInput):
        logger.set_correlation_id(event.image.id)
        processed = reuse(event, settings())
        metrics.add_metric(name="DuplicatesReused", unit="Count", value=1)
        return processed.model_dump()
    record = finish(event, settings())
    logger.set_correlation_id(record["image_id"])
    metrics.add_metric(name=f"Images{record['status'].title()}", unit="Count", value=1)
    logger.info("recorded", extra={"status": record["status"], "reason": record.get("reason")})
    # ``cause`` is what the Failed state shows in the console: the message, never Lambda's stack trace.
    error = record.get("error") or {}
    return {"status": record["status"], "image_id": record["image_id"], "cause": error.get("message") or ""}
