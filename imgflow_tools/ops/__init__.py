"""Operator code against any stack (``imgflow runs``, ``imgflow reprocess``): each a module of its own.

They talk only to the Step Functions, DynamoDB and S3 APIs, through ``imgflow_tools.ops.stack.Stack``, so the
same code works against a local stack (``--endpoint``, the AWS endpoint ``imgflow serve`` prints) and a
deployed one (AWS credentials and the CloudFormation stack's outputs). Never imports ``imgflow_tools.local``.
"""
