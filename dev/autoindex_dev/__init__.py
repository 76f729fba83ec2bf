"""The Docker-free local runner: what ``sam local start-api`` and ``sam local invoke`` do, in-process."""
