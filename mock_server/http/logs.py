"""Logging for people (one readable line per request) or for machines (one JSON object a line)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Final

from mock_server.http.journal import JournalEntry, fitted
from mock_server.settings import LOG_FORMATS

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The message of an access-log record in JSON: its fields follow in full (each bounded), so the
# readable line that repeats them is cut to keep the whole line under 64 KiB.
MAX_JSON_ACCESS_MESSAGE: Final = 4 * 1024


class JsonFormatter(logging.Formatter):
    """A JSON object per record; access-log records carry their journal entry's fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry = getattr(record, "entry", None)
        if isinstance(entry, JournalEntry):
            document["message"] = fitted(str(document["message"]), MAX_JSON_ACCESS_MESSAGE)
            document.update(entry.to_json())
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, separators=(",", ":"))


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every log line to stderr in the chosen format; werkzeug's own access log is muted."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The access log of mock_server.access replaces werkzeug's per-request lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
