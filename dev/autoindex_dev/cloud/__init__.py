"""The emulated AWS: the template deployed into moto, and the Lambda service played from the built artefacts."""
