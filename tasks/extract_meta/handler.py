"""Lambda entry point of the ExtractMeta state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgflow.config import settings
from imgflow.models import ProcessInput
from imgflow.observability import logger, metrics, tracer
from tasks.extract_meta.service import extract_for


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ProcessInput)
def lambda_handler(event: ProcessInput, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.image.id)
    return {"meta": extract_for(event, settings())}
