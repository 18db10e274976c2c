"""The image records in DynamoDB: table layout, item shapes and the repository."""

from imgflow.records.repository import ImageRepository, Page
from imgflow.records.table import TABLE, Status

__all__ = ["TABLE", "ImageRepository", "Page", "Status"]
