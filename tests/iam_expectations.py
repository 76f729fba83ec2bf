"""What each function's code calls through AWS, and so what its role must allow: the table both IAM checks read.

tests/unit/test_iam.py holds template.yaml to it statically; tests/aws/test_iam_enforced.py makes each call
under the deployed role. A new function adds its row to NEEDS here.
"""

from __future__ import annotations

# What each function's code calls through boto3, and why. Every function with a database reads its
# secrets (credentials, JWT key, API-key pepper, the Twelve Data key) from Secrets Manager at run time.
SECRETS = "secretsmanager:GetSecretValue"
PUT_EVENTS = "events:PutEvents"
SEND = "sqs:SendMessage"
EXPORT = {"s3:PutObject", "s3:GetObject"}  # large CSV exports: write the object, presign its download
NEEDS: dict[str, set[str]] = {
    "HealthFunction": {SECRETS},
    "AuthFunction": {SECRETS},
    "MarketFunction": {SECRETS, *EXPORT},
    "IndexFunction": {SECRETS, *EXPORT},
    "CacheWarmFunction": {SECRETS},
    "MaintenanceFunction": {SECRETS},
    "ShareCountsFunction": {SECRETS},  # EDGAR is plain HTTPS with no key: only the database secret
    "MigrateFunction": {SECRETS},  # the writer's credentials, to run the migrations
    "DocsFunction": set(),  # serves a file: no database, no AWS call
    "WebFunction": set(),  # serves the dashboard's files: no database, no AWS call
    "RefreshFunction": {SECRETS, SEND},  # queues the planned batches
    "IngestFunction": {SECRETS, PUT_EVENTS},  # PricesRefreshed when a run's last batch lands
    "ComputeFunction": {SECRETS, PUT_EVENTS},  # IndexComputed
    "StrategyFunction": {SECRETS, PUT_EVENTS},  # StrategyChanged
    "AdminFunction": {SECRETS, SEND, PUT_EVENTS},  # refresh on request; ComputeRequested, CacheInvalidated
    # B2B (issue 14)
    "B2BFunction": {SECRETS, SEND, PUT_EVENTS, *EXPORT},  # backtest jobs, redelivery; BacktestFinished for a cached one
    "BacktestFunction": {SECRETS, PUT_EVENTS},  # BacktestFinished
    "WebhooksFunction": {SECRETS, SEND},  # fan-out and delayed retries onto the webhook queue
}
