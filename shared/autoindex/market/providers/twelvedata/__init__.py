"""The Twelve Data provider: client, HTTP transport, and parsing of its bodies."""
