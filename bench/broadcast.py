"""Staff broadcasts at scale (issue 9): 100,000 recipients across SMS and Telegram.

1. enqueue: a temporary SQLite database (or --database-url) with 100,000 consenting people in Botkyrka, a
   fifth of them with both channels (they get it once, on the channel used last), and people elsewhere who
   must get nothing; then `bot.broadcasts.dispatch_due`: select the audience, render per language and
   channel, and insert the outbox rows in batches. Target: <= 10 s.
2. sending: the real outbox sender (`bot.outbox.run_sender`, bulk rows one claim at a time) and the real SMS
   channel (twilio's client) against a stand-in for Twilio's REST API in a process of its own, which allows
   `--rate` messages a second (a token bucket holding two) and answers 429 above it. The sender is paced at
   the same rate (SMS_PER_SECOND). Reported: the achieved rate as a fraction of the allowed one (target >=
   0.95), the 429 answers (target 0) and the sender's CPU time per message (this process: the sender and its
   database work; the stand-in runs elsewhere).

    .venv/bin/python bench/broadcast.py [--people 100000] [--rate 50] [--seconds 20]

The last line: RESULT enqueue_s=… cpu_ms_per_msg=… rate_fraction=… http_429=…
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot import broadcasts, outbox, reference  # noqa: E402
from bot.broadcasts import Audience  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.models import ChannelIdentity, OutboundMessage, Person, Profile, Staff, StaffScope  # noqa: E402
from bot.municipalities import MunicipalityDirectory  # noqa: E402
from bot.turns import LOCALES, TurnRunner  # noqa: E402

TZ = ZoneInfo("Europe/Stockholm")
ACCOUNT_SID = "AC" + "c" * 32
AUTH_TOKEN = "bench-auth-token"
LANGUAGES = ("sv", "en", "ar", "fa", "so", "ti", "uk", "ru")
TEXTS = {
    "sv": "Ny kvällskurs i SFI på Tumba bibliotek från 1 december, måndagar och onsdagar 18-20.",
    "en": "New evening SFI class at Tumba library from 1 December, Mondays and Wednesdays 18-20.",
    "ar": "دورة مسائية جديدة في SFI في مكتبة تومبا من 1 ديسمبر، أيام الاثنين والأربعاء 18-20.",
}
TARGET_ENQUEUE_S = 10.0
TARGET_RATE_FRACTION = 0.95


# --- the stand-in for Twilio, in its own process ---------------------------------------------------------


def provider(port: int, rate: float, ready: str) -> None:
    """Accepts messages at `rate` a second (a token bucket of two), 429 above it; GET /stats counts."""
    stats = {"accepted": 0, "http_429": 0}
    bucket = {"tokens": 2.0, "at": time.monotonic()}

    async def create(request: web.Request) -> web.Response:
        await request.post()
        now = time.monotonic()
        bucket["tokens"] = min(2.0, bucket["tokens"] + (now - bucket["at"]) * rate)
        bucket["at"] = now
        if bucket["tokens"] < 1.0:
            stats["http_429"] += 1
            return web.json_response({"code": 20429, "message": "Too Many Requests"}, status=429)
        bucket["tokens"] -= 1.0
        stats["accepted"] += 1
        sid = f"SM{stats['accepted']:032x}"
        return web.json_response({"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID}, status=201)

    async def show(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", create)
        app.router.add_get("/stats", show)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.to_thread(Path(ready).write_text, "ok")
        await asyncio.Event().wait()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the database ---------------------------------------------------------------------------------------


async def seed(url: str, people: int) -> int:
    """People in Botkyrka (0127) and, one in twenty, in Stockholm (0180); returns the staff member's id."""
    engine = make_engine(url)
    factory = session_factory(engine)
    now = datetime.now(UTC)
    async with transaction(factory) as session:
        await reference.seed(session)
        member = Staff(telegram_id=1, role="staff", scopes=[StaffScope(municipality_code="0127")])
        session.add(member)
        await session.flush()
        member_id = member.id
    chunk = 10_000
    for start in range(1, people + 1, chunk):
        ids = range(start, min(start + chunk, people + 1))
        persons, identities, profiles = [], [], []
        for i in ids:
            both = i % 5 == 0
            channel = "sms" if i % 2 else "telegram"
            persons.append(
                {
                    "id": i,
                    "language": LANGUAGES[i % len(LANGUAGES)],
                    "consented_at": now,
                    "last_channel": channel,
                    "created_at": now,
                    "last_active_at": now,
                }
            )
            for ch in ("sms", "telegram") if both else (channel,):
                address = f"+4670{i:07d}" if ch == "sms" else str(10_000_000 + i)
                identities.append({"person_id": i, "channel": ch, "address": address, "last_seen_at": now})
            profiles.append(
                {
                    "person_id": i,
                    "kind": "self",
                    "birth_year": 1960 + i % 45,
                    "municipality_code": "0180" if i % 20 == 0 else "0127",
                    "goals": ["sfi"],
                    "schedule": [],
                    "occupations": [],
                    "updated_at": now,
                }
            )
        async with transaction(factory) as session:
            await session.execute(insert(Person), persons)
            await session.execute(insert(ChannelIdentity), identities)
            await session.execute(insert(Profile), profiles)
    await engine.dispose()
    return member_id


async def enqueue(url: str, member_id: int) -> tuple[float, int, dict[str, int]]:
    engine = make_engine(url)
    factory = session_factory(engine)
    now = datetime.now(UTC)
    async with transaction(factory) as session:
        member = await session.get(Staff, member_id)
        announcement = await broadcasts.create(session, member, TEXTS, Audience(["0127"]), now, urgent=True)
        await broadcasts.schedule(session, member, announcement.id, None, now)
    started = time.perf_counter()
    outcome = await broadcasts.dispatch_due(factory, now=now, tz=TZ, localedir=LOCALES)
    elapsed = time.perf_counter() - started
    async with factory() as session:
        rows = await session.execute(
            select(OutboundMessage.channel, func.count()).group_by(OutboundMessage.channel)
        )
        by_channel = dict(rows.all())
    await engine.dispose()
    return elapsed, outcome["queued"], by_channel


async def send(url: str, port: int, rate: float, seconds: float) -> tuple[int, float, float]:
    """The sender for `seconds`: messages sent, wall seconds, CPU seconds of this process."""
    from bot.channels.sms import SmsChannel

    settings = load_settings(
        database_url=url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from="+46766860001",
        twilio_api_base=f"http://127.0.0.1:{port}",
        public_base_url="https://vagvisare.example.org",
        sms_per_second=rate,
    )
    engine = make_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        directory = await MunicipalityDirectory.load(session)
    runner = TurnRunner(factory, directory, tz=TZ)
    channel = SmsChannel(settings, runner)
    await channel.start()
    stop = asyncio.Event()
    counted = {"sent": 0}
    inner = channel.send

    async def counting_send(address, output):
        result = await inner(address, output)
        counted["sent"] += 1
        return result

    task = asyncio.create_task(
        outbox.run_sender(factory, "sms", counting_send, pacer=channel.pacer, wake=asyncio.Event(), stop=stop)
    )
    # Warm up (connections, first claims), then measure.
    await asyncio.sleep(1.0)
    sent0, wall0, cpu0 = counted["sent"], time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    sent, wall, cpu = counted["sent"] - sent0, time.perf_counter() - wall0, time.process_time() - cpu0
    stop.set()
    await task
    await channel.stop()
    await engine.dispose()
    return sent, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second the provider allows")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to measure sending")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its public schema is reset)")
    args = parser.parse_args()
    if len(sys.argv) > 1 and sys.argv[1] == "--provider":
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        if args.database_url:
            from tests.conftest import _reset_postgres

            asyncio.run(_reset_postgres(url))
        upgrade(url)
        started = time.perf_counter()
        member_id = asyncio.run(seed(url, args.people))
        print(f"seeded {args.people} people in {time.perf_counter() - started:.1f} s")
        enqueue_s, queued, by_channel = asyncio.run(enqueue(url, member_id))
        print(f"enqueue: {queued} messages in {enqueue_s:.2f} s ({by_channel})")

        port = _free_port()
        ready = Path(tmp) / "ready"
        process = subprocess.Popen(
            [sys.executable, __file__, "--provider-port", str(port), str(args.rate), str(ready)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            for _ in range(200):
                if ready.exists():
                    break
                time.sleep(0.05)
            sent, wall, cpu = asyncio.run(send(url, port, args.rate, args.seconds))
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"GET /stats HTTP/1.0\r\nHost: x\r\n\r\n")
                raw = b""
                while chunk := s.recv(4096):
                    raw += chunk
            stats = json.loads(raw.split(b"\r\n\r\n", 1)[1])
        finally:
            process.terminate()
            process.wait()

    achieved = sent / wall if wall else 0.0
    fraction = achieved / args.rate
    cpu_ms = 1000 * cpu / sent if sent else float("nan")
    print()
    print(f"{'measure':<28}{'value':>12}{'target':>12}")
    print(f"{'enqueue (s)':<28}{enqueue_s:>12.2f}{'<= 10':>12}")
    print(f"{'messages queued':<28}{queued:>12}{'':>12}")
    print(f"{'allowed rate (msg/s)':<28}{args.rate:>12.1f}{'':>12}")
    print(f"{'achieved rate (msg/s)':<28}{achieved:>12.1f}{'':>12}")
    print(f"{'rate fraction':<28}{fraction:>12.3f}{'>= 0.95':>12}")
    print(f"{'HTTP 429 answers':<28}{stats['http_429']:>12}{'0':>12}")
    print(f"{'sender CPU per message (ms)':<28}{cpu_ms:>12.2f}{'':>12}")
    print(
        f"RESULT enqueue_s={enqueue_s:.2f} cpu_ms_per_msg={cpu_ms:.2f} rate_fraction={fraction:.3f} "
        f"http_429={stats['http_429']}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--provider-port":
        provider(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    else:
        main()
