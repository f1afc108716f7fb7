"""The inspector: the mock's pages for people, at /__admin/ui/ (and `/` leads there).

A Flask blueprint with its templates and static files; it reads through the admin API's
functions and answers under the admin API's access rule.
"""

from mock_server.http.inspector.views import inspector

__all__ = ["inspector"]
