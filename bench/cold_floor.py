"""H's reference: what every task handler imports before any imgflow code (bench H ``floor_ms``).

boto3 (S3/DynamoDB clients), pydantic with one model, and Powertools' Logger, Metrics, Tracer and parser: the
libraries' own import cost, measured beside the handlers so the part that is imgflow's can be read off.
"""

import boto3  # noqa: F401
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401
from aws_lambda_powertools.utilities.parser import event_parser  # noqa: F401
from pydantic import BaseModel


class Probe(BaseModel):
    """One model: pydantic builds its machinery on the first."""

    value: int
