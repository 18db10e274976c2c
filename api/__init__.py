"""The imgflow API Lambda (``api.handler.lambda_handler``)."""
