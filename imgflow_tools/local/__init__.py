"""The local mode: moto as S3, DynamoDB, EventBridge and Step Functions; handlers in-process."""
