"""Names shared by the functions' metrics and the CDK dashboard and alarms (imports nothing, like env_names).

Handlers pass them to Powertools explicitly rather than relying on `POWERTOOLS_METRICS_NAMESPACE` being in the
environment when the module is imported: a handler imported before its environment is set (a test, the local stack's
shared process) would otherwise fail every invocation with "Must contain a metric namespace".
"""

METRICS_NAMESPACE = "SignBridge"
SERVICE_NAME = "signbridge"

# Custom metrics (namespace `SignBridge`; every one has the dimension service=signbridge, plus the one noted).
API_RESPONSES = "ApiResponses"  # Count, status_class = 2xx | 4xx | 5xx
PROVIDER_CALLS = "ProviderCalls"  # Count, provider = zapsign | oneshot | zapsign-files (one per HTTP attempt)
PROVIDER_ERRORS = "ProviderErrors"  # Count, provider (error answers, timeouts, 429s)
PROVIDER_LATENCY = "ProviderLatency"  # Milliseconds, provider
WEBHOOKS_RECEIVED = "WebhooksReceived"  # Count, provider
REQUESTS_FINISHED = "RequestsFinished"  # Count, status = completed | refused | cancelled | expired | failed
RECONCILE_ERRORS = "ReconcileErrors"  # Count: requests the reconciler could not look at
REQUESTS_GIVEN_UP = "RequestsGivenUp"  # Count: requests the reconciler failed after they stayed stuck too long
HOUSEKEEPING_ERRORS = "HousekeepingErrors"  # Count: requests or objects the housekeeper could not handle
POISON_MESSAGES = "PoisonMessage"  # Count: queue messages that can never run, set aside in the dead-letter queue
ONESHOT_POSSIBLE_ORPHANS = "OneShotPossibleOrphan"  # Count: One-Shot creates retried after an uncertain answer
SIGNATURE_VERIFICATIONS = "SignatureVerifications"  # Count, indication (TOTAL-PASSED, INDETERMINATE, ...)
VERIFICATION_FAILURES = "VerificationFailures"  # Count: signed files that stopped archiving (verification_failed)
