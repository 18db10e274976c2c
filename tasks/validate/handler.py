"""Lambda entry point of the Validate state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgflow.config import settings
from imgflow.errors import ImageRejected
from imgflow.models import TaskInput
from imgflow.observability import logger, metrics, tracer
from tasks.validate.service import validate_upload


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=TaskInput)
def lambda_handler(event: TaskInput, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.image.id)
    try:
        validated = validate_upload(event.image, settings())
    except ImageRejected as exc:
        metrics.add_metric(name=f"Rejected_{exc.reason}", unit="Count", value=1)
        logger.info("rejected", extra={"reason": exc.reason, "detail": str(exc)})
        raise
    logger.info("valid", extra=validated.model_dump())
    return validated.model_dump()
