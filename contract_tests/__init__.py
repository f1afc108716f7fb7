"""Contract tests of the mock against openapi.yaml."""
