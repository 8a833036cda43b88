"""dialogs/ stays free of channels and databases: it imports nothing from them, nor from bot/."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "aiogram",
    "twilio",
    "sqlalchemy",
    "aiohttp",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "bot",
    "catalog_sync",
}
DIALOGS = Path(__file__).resolve().parent.parent / "dialogs"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_dialogs_import_no_channel_or_database_library() -> None:
    files = sorted(DIALOGS.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        assert not imported_roots(path) & FORBIDDEN, path.name
