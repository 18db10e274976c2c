"""SQS access (the upload rule's dead-letter queue, drained by the repair), with errors translated."""

from __future__ import annotations

from typing import Any

from imgflow import aws


def receive(queue_url: str, *, max_messages: int = 10) -> list[dict[str, Any]]:
    """Up to ``max_messages`` (at most 10) messages, without waiting; [] when the queue is empty."""
    with aws.translated_errors():
        answer = aws.client("sqs").receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(max_messages, 10), WaitTimeSeconds=0
        )
    return list(answer.get("Messages", []))


def delete(queue_url: str, receipt_handle: str) -> None:
    with aws.translated_errors():
        aws.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt_handle)
