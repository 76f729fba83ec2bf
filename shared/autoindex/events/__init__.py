"""Domain events and work queues: EventBridge and SQS in AWS, the in-process runner locally.

Events this product publishes (``detail-type``): ``PricesRefreshed``, ``StrategyChanged``,
``IndexComputed``. Queues: ``ingest`` (refresh batches).
"""
