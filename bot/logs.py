"""Structured logs that never hold a phone number, a chat id in the clear or a message body.

Code logs events with `extra` fields; this module writes them as one JSON object a line and scrubs every
value on the way out, whatever the caller passed, so one careless call cannot leak a person's number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re

# Long digit runs are phone numbers, chat ids, personal identity numbers: none belongs in a log.
_DIGITS = re.compile(r"\+?\d[\d \-]{5,}\d")
# Fields whose value is what a person wrote, or where they can be reached.
PRIVATE_FIELDS = {"text", "body", "message_body", "address", "phone", "chat_id", "from", "to", "payload"}
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def scrub(value: object) -> object:
    if isinstance(value, str):
        return _DIGITS.sub("[number]", value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**6:
        return "[number]"
    return value


def pseudonym(address: str) -> str:
    """A stable, short stand-in for an address, to follow one person through the logs without naming them."""
    return "p-" + hashlib.sha256(address.encode("utf-8")).hexdigest()[:10]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "event": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key in PRIVATE_FIELDS and record.levelno >= logging.INFO:
                entry[key] = "[private]"
            else:
                entry[key] = scrub(value)
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # apscheduler's executor logs every run of every job ("Running job", "executed successfully"), several
    # lines a minute; a job that raises is still logged, at ERROR.
    for noisy in ("aiosqlite", "sqlalchemy.engine", "alembic", "aiohttp.access", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
