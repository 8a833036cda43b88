"""What a complete journey costs by SMS, in every language the picker offers.

A newcomer writes a first message, picks the language, agrees to the saving of answers, gives the
municipality, the goal and the birth year, picks the first result, books the first free time: the journey ends
with an intake request. Every answer is digits only, so the same journey runs in every language (the
municipality is given by its SCB code, 0127 Botkyrka). The turns go through the real TurnRunner on a temporary
SQLite database with the bundled sample catalogue; every reply is rendered as SMS (bot/channels/sms_render,
the default budget of 3 segments per message) and its segments counted as Twilio bills them.

Target: no language above 30 segments. `--show` prints every SMS. Prints one row per language, then
`RESULT languages=… segments_max=… worst=CODE` (and `target_segments=30 ok=…`).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot import reference  # noqa: E402
from bot.channels.sms_render import count_segments, render_sms  # noqa: E402
from bot.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.models import ChannelIdentity, IntakeRequest  # noqa: E402
from bot.municipalities import MunicipalityDirectory  # noqa: E402
from bot.turns import TurnRunner  # noqa: E402
from catalog_sync.loader import load_file, sample_files  # noqa: E402
from dialogs.languages import offered, picker_order  # noqa: E402
from dialogs.model import Inbound, Output  # noqa: E402
from dialogs.script import RLM  # noqa: E402

LOCALES = ROOT / "locales"
TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
TARGET_SEGMENTS = 30
BUDGET = 3
# After the first message and the language's number: OK to saving, Botkyrka, learn Swedish, born 1990, the
# first course, book, the first free time.
JOURNEY = ("1", "0127", "1", "1990", "1", "1", "1")


async def prepare(folder: Path) -> tuple:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        await reference.seed(session)
    for path in sample_files():
        report = await load_file(factory, path)
        if report.status != "ok":
            raise SystemExit(f"sample catalogue: {report.message}")
    async with factory() as session:
        directory = await MunicipalityDirectory.load(session)
    return engine, factory, directory


async def journey(runner: TurnRunner, address: str, position: int) -> tuple[list[str], list[Output]]:
    """The SMS bodies sent to a new person who makes the journey, choosing language number `position`,
    and the outputs they were rendered from."""
    sent: list[str] = []
    outputs: list[Output] = []
    for text in ("1", str(position), *JOURNEY):
        result = await runner.handle("sms", address, Inbound(text=text))
        outputs += result.outputs
        for output in result.outputs:
            sent += render_sms(output, budget_segments=BUDGET)
    return sent, outputs


def as_ucs2(outputs: list[Output]) -> int:
    """Segments of the same texts if one character in each were outside GSM-7 (as Arabic, Cyrillic or Ge'ez
    letters are): a projection for languages without a catalog yet, with texts as long as these."""
    marked = [replace(output, text=RLM + output.text) for output in outputs]
    return sum(
        count_segments(body).count for output in marked for body in render_sms(output, budget_segments=BUDGET)
    )


async def requests_of(factory, address: str) -> int:
    async with factory() as session:
        identity = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == address))
        query = select(func.count()).select_from(IntakeRequest)
        return await session.scalar(query.where(IntakeRequest.person_id == identity.person_id))


async def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        engine, factory, directory = await prepare(Path(folder))
        runner = TurnRunner(
            factory, directory, tz=TZ, localedir=LOCALES, clock=lambda: NOW, rng=random.Random(7)
        )
        languages = picker_order(offered(LOCALES), None)
        rows = []
        projections: dict[str, int] = {}
        for position, lang in enumerate(languages, start=1):
            address = f"+4670000{position:04d}"
            bodies, outputs = await journey(runner, address, position)
            projections[lang.code] = as_ucs2(outputs)
            segments = [count_segments(body) for body in bodies]
            if "--show" in sys.argv[1:]:
                for body, counted in zip(bodies, segments, strict=True):
                    print(f"[{lang.code} {counted.count} {counted.encoding}] " + body.replace("\n", "\n    "))
            if await requests_of(factory, address) != 1:
                raise SystemExit(f"{lang.code}: the journey did not end with an intake request")
            encodings = "/".join(sorted({s.encoding for s in segments}))
            rows.append((lang.code, len(segments), sum(s.count for s in segments), encodings))
        await engine.dispose()
    print(f"{'lang':<5} {'messages':>8} {'segments':>8}  encoding")
    for code, messages, total, encodings in rows:
        print(f"{code:<5} {messages:>8} {total:>8}  {encodings}")
    for code, projected in projections.items():
        print(
            f"projection: the {code} texts in a script outside GSM-7 (UCS-2) would cost {projected} segments"
        )
    worst = max(rows, key=lambda row: row[2])
    codes = ",".join(row[0] for row in rows)
    ok = "yes" if worst[2] <= TARGET_SEGMENTS else "no"
    print(f"RESULT languages={codes} segments_max={worst[2]} worst={worst[0]} target_segments=30 ok={ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
