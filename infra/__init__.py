"""The CDK app that deploys imgflow (docs/deploy.md, infra/README.md)."""
