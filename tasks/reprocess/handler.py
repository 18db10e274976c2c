"""Lambda entry point of the Select and Summarize states of the reprocess workflow."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from imgflow.config import settings
from imgflow.observability import logger, metrics, tracer
from tasks.reprocess import service


class SelectInput(BaseModel):
    action: Literal["select"]
    request: dict[str, Any]
    execution_arn: str
    execution_name: str
    ingest_arn: str


class SummarizeInput(BaseModel):
    action: Literal["summarize"]
    run: dict[str, Any]


ReprocessInput = Annotated[SelectInput | SummarizeInput, Field(discriminator="action")]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ReprocessInput)
def lambda_handler(event: SelectInput | SummarizeInput, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, SelectInput):
        run = service.select(
            event.request,
            execution_arn=event.execution_arn,
            execution_name=event.execution_name,
            ingest_arn=event.ingest_arn,
            settings=settings(),
        )
        logger.info(
            "selected", extra={k: run[k] for k in ("run_id", "mode", "selected", "expired", "restarted")}
        )
        metrics.add_metric(name="ReprocessSelected", unit="Count", value=run["selected"])
        return run
    result = service.summarize(event.run, settings(), time_left_ms=context.get_remaining_time_in_millis)
    if result["done"]:
        logger.info("summary", extra={"summary": result["summary"]})
    return result
