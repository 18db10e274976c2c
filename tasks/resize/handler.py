"""Lambda entry point of the Resize state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from imgflow.config import settings
from imgflow.models import ProcessInput
from imgflow.observability import logger, metrics, tracer
from tasks.resize.service import make_renditions


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ProcessInput)
def lambda_handler(event: ProcessInput, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.image.id)
    made = make_renditions(event, settings())
    metrics.add_metric(name="Renditions", unit="Count", value=len(made["renditions"]))
    return made
