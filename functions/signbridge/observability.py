"""Names shared by the functions' metrics and the CDK dashboard and alarms (imports nothing, like env_names).

Handlers pass them to Powertools explicitly rather than relying on `POWERTOOLS_METRICS_NAMESPACE` being in the
environment when the module is imported: a handler imported before its environment is set (a test, the local stack's
shared process) would otherwise fail every invocation with "Must contain a metric namespace".
"""

METRICS_NAMESPACE = "SignBridge"
SERVICE_NAME = "signbridge"
