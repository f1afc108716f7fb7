"""The customer session itself: rules, use cases, the store protocol and the error model.

Standard library only: nothing here knows HTTP, JSON names or a database.
"""
