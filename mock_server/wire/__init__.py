"""The JSON wire format: documents <-> domain objects, and the strict reading of request bodies."""
