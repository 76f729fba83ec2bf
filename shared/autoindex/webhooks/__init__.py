"""Signed webhooks for B2B clients: endpoints, the event fan-out, deliveries with retries, the SSRF guard."""
