"""Contract tests: Schemathesis and the business checks a schema cannot express."""
