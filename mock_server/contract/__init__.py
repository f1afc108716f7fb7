"""openapi.yaml as code: the spec, its validators and the one checker of session documents.

No Flask here: validators take werkzeug requests and responses, or plain documents.
"""
