"""SignBridge under faults: a seeded, bounded chaos run of the local stack (`make chaos`, docs/chaos.md).

- `chaos.aws`: AWS-side faults injected in the local runtime (throttling and 5xx from DynamoDB, S3 and SQS, in each
  service's real error shape, for a seeded share of each function's calls) and crash points (a worker invocation
  killed after an S3 write or a provider create and before its DynamoDB write, or in the middle of a batch);
- `chaos.run`: the run itself (all three workflows at once, the simulators' fault plans, the reconciler, the checks,
  the tallies) and `python -m chaos`.
"""
