"""SignBridge infrastructure: the CDK app that deploys one stack per stage (see docs/infrastructure.md)."""
