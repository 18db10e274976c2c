"""The CDK app that deploys imgflow (see README, Deploy)."""
