"""Domain events and work queues: EventBridge and SQS in AWS, the in-process runner locally.

Event names are in ``names``; ``envelope`` parses what a job receives; ``transport`` publishes and
enqueues; ``ledger`` remembers what a consumer has already handled.
"""
