"""What a JSON document is to the rest of the code."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]
# "No parsed document at hand": a validator given this parses the body itself.
UNPARSED: Any = object()
