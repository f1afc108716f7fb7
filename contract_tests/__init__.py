"""Contract tests: Schemathesis against the mock or any server that claims the contract."""
