"""imgflow: a Step Functions orchestrated image-ingestion workflow (shared core package)."""

__version__ = "0.1.0"
