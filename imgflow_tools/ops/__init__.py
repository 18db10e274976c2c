"""Operator tools (``imgflow runs``, ``reprocess``, ``soak``): each a module of its own.

They talk only to the Step Functions, DynamoDB and S3 APIs, through ``imgflow_tools.ops.stack.Stack``, so the
same command works against a local stack (``--endpoint``, the AWS endpoint ``imgflow serve`` prints) and a
deployed one (AWS credentials and the CloudFormation stack's outputs).
"""
