"""SMS webhook turns: the full assistant against a bare signature-checking handler, in one run (issue 4).

Both servers run in a process of their own, as `vagvisare run` would, and are driven by the same load from
this process: 50 conversations at once, each a newcomer texting their way (by digits) from "Hej" to an intake
request, every request signed with twilio's RequestValidator as Twilio signs it.

(a) full: the real application (`open_app`, the scheduler's jobs, `server.configured_channels` and
    `server.serve`) on a temporary SQLite database with the sample catalogue: /sms/inbound checks the
    signature, runs the turn in one transaction and queues the replies; the SMS sender delivers them to a
    local stand-in for Twilio's REST API at SMS_PER_SECOND (default 1), as in production.
(b) bare: an aiohttp handler that reads the form, checks the signature and answers an empty TwiML response.
(c) floor: the bare handler plus the one transaction any turn owes under the project's rules (its MessageSid
    recorded, a reply queued in the outbox) on the project's engine: how much of the ratio no dialog code
    can remove.

Reported: turns per second, p50 and p99 latency of each, and ratio = bare_tps / full_tps (what a turn of the
full assistant costs in units of the bare handler; target <= 3). Also the segments a complete Swedish journey
and a complete Arabic journey cost by SMS (an English journey when there is no Arabic catalog yet; the RESULT
line says which in `segments_ar_language`).

    .venv/bin/python bench/sms_turns.py [--conversations 50] [--rounds 3]

The last line:
RESULT full_tps=… bare_tps=… ratio=… p99_ms=… segments_sv=… segments_ar=… segments_ar_language=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"
SENDER = "+46766860001"
PUBLIC = "https://vagvisare.example.org"
TARGET_RATIO = 3.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# A complete journey by digits: first message, Swedish, OK, the municipality, learn Swedish, born 1990, the
# second course, book, the first free time: an intake request.
JOURNEY_SV = ["Hej", "1", "1", "Botkyrka", "1", "1990", "2", "1", "1"]


def journey(language: str) -> list[str]:
    """The same journey in another language: picked by its name (the picker's order depends on the script
    of the first message and on which catalogs exist)."""
    from dialogs.languages import LANGUAGES

    if language == "sv":
        return JOURNEY_SV
    return [JOURNEY_SV[0], LANGUAGES[language].native_name, *JOURNEY_SV[2:]]


def _mark_ready(path: Path) -> None:
    path.write_text("ready")


# --- the servers (each in a child process) --------------------------------------------------------------


async def serve_full(database_url: str, port: int, ready: Path) -> None:
    from bot import server
    from bot.app import configure_logging, open_app, start_jobs
    from bot.config import load_settings

    twilio = web.Application()
    sids = iter(range(1, 10**9))

    async def create(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response({"sid": f"SM{next(sids):032x}", "status": "queued"}, status=201)

    twilio.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", create)
    twilio_runner = web.AppRunner(twilio, access_log=None)
    await twilio_runner.setup()
    site = web.TCPSite(twilio_runner, "127.0.0.1", 0)
    await site.start()
    twilio_port = site._server.sockets[0].getsockname()[1]
    settings = load_settings(
        database_url=database_url,
        http_port=port,
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SENDER,
        twilio_api_base=f"http://127.0.0.1:{twilio_port}",
    )
    configure_logging(settings.log_level)
    async with open_app(settings) as application:
        jobs = start_jobs(application)
        channels = server.configured_channels(application)
        assert [channel.name for channel in channels] == ["sms"], channels
        stop = asyncio.Event()
        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)
        serving = asyncio.create_task(server.serve(application, channels, stop))
        await asyncio.sleep(0.3)
        _mark_ready(ready)
        await serving
        jobs.shutdown(wait=False)
    await twilio_runner.cleanup()


async def serve_bare(port: int, ready: Path) -> None:
    validator = RequestValidator(AUTH_TOKEN)

    async def inbound(request: web.Request) -> web.Response:
        form = await request.post()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(PUBLIC + request.path_qs, form, signature):
            raise web.HTTPForbidden()
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/sms/inbound", inbound)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)
    _mark_ready(ready)
    await stop.wait()
    await runner.cleanup()


async def serve_floor(database_url: str, port: int, ready: Path) -> None:
    """The bare handler plus the least any turn must do by the project's rules, with nothing else: in one
    transaction on the project's own engine, record the MessageSid (a redelivery must act once) and queue a
    reply in the outbox (nothing lost). No person, no state, no dialog, no sender."""
    from sqlalchemy import insert

    from bot.db import make_engine, session_factory, transaction
    from bot.models import InboundMessage, OutboundMessage

    validator = RequestValidator(AUTH_TOKEN)
    engine = make_engine(database_url)
    factory = session_factory(engine)

    async def inbound(request: web.Request) -> web.Response:
        form = await request.post()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(PUBLIC + request.path_qs, form, signature):
            raise web.HTTPForbidden()
        async with transaction(factory) as session:
            delivered = {"channel": "sms", "external_id": form["MessageSid"]}
            await session.execute(insert(InboundMessage).values(**delivered))
            reply = {"channel": "sms", "address": form["From"], "payload": {"text": form["Body"]}}
            await session.execute(insert(OutboundMessage).values(**reply))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/sms/inbound", inbound)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)
    _mark_ready(ready)
    await stop.wait()
    await runner.cleanup()
    await engine.dispose()


# --- the load -----------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def conversations(count: int, rounds: int, first_number: int) -> list[list[tuple[dict, str]]]:
    """Signed requests, made before the clock starts: per conversation, its messages in order."""
    validator = RequestValidator(AUTH_TOKEN)
    url = PUBLIC + "/sms/inbound"
    made = []
    for n in range(count * rounds):
        number = f"+4670{first_number + n:07d}"
        messages = []
        for index, body in enumerate(JOURNEY_SV):
            sid = f"SM{first_number + n:016d}{index:016d}"
            params = {
                "AccountSid": ACCOUNT_SID,
                "MessageSid": sid,
                "SmsSid": sid,
                "From": number,
                "To": SENDER,
                "Body": body,
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
            messages.append((params, validator.compute_signature(url, params)))
        made.append(messages)
    return made


async def drive(port: int, load: list[list[tuple[dict, str]]], concurrency: int) -> tuple[float, list[float]]:
    """Runs `concurrency` conversations at a time until all are done; returns (seconds, latencies in s)."""
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for conversation in load:
        queue.put_nowait(conversation)
    url = f"http://127.0.0.1:{port}/sms/inbound"

    async def worker(session: ClientSession) -> None:
        while not queue.empty():
            for params, signature in queue.get_nowait():
                started = time.perf_counter()
                async with session.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {await response.text()}")
                latencies.append(time.perf_counter() - started)

    connector = TCPConnector(limit=0)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=60)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Child:
    """A server in a process of its own; it stops when its standard input is closed."""

    def __init__(self, *args: str):
        self.port = _free_port()
        self.ready = Path(tempfile.mkdtemp()) / "ready"
        self.log = open(self.ready.with_name("log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                *args,
                "--port",
                str(self.port),
                "--ready",
                str(self.ready),
            ],
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=self.log,
        )

    async def wait_ready(self) -> None:
        for _ in range(600):
            if self.ready.exists():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.ready.with_name('log').read_text()[-2000:]}")
            await asyncio.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def measure(
    child: Child, concurrency: int, rounds: int, first_number: int
) -> tuple[float, list[float], list[float]]:
    """(turns/s and latencies at `concurrency` conversations at once, latencies of one conversation alone)."""
    await child.wait_ready()
    await drive(child.port, conversations(concurrency, 1, first_number), concurrency)  # warm-up
    seconds, latencies = await drive(
        child.port, conversations(concurrency, rounds, first_number + concurrency), concurrency
    )
    _, alone = await drive(child.port, conversations(5, 1, first_number + concurrency * (rounds + 1)), 1)
    return len(latencies) / seconds, latencies, alone


# --- segments of a whole journey --------------------------------------------------------------------------


async def journey_segments(database_url: str, language: str) -> tuple[int, int]:
    """(segments, messages) of one complete journey by SMS, counted on the outbox rows the turns queued."""
    import random

    from sqlalchemy import select

    from bot.channels.sms import CHANNEL, split
    from bot.channels.sms_render import count_segments
    from bot.config import load_settings
    from bot.db import make_engine, session_factory
    from bot.models import IntakeRequest, OutboundMessage
    from bot.municipalities import MunicipalityDirectory
    from bot.outbox import SPLITTERS
    from bot.turns import TurnRunner
    from dialogs.model import Inbound

    settings = load_settings(database_url=database_url)
    engine = make_engine(database_url)
    factory = session_factory(engine)
    async with factory() as session:
        directory = await MunicipalityDirectory.load(session)
    runner = TurnRunner(factory, directory, tz=settings.tz, rng=random.Random(4))
    SPLITTERS[CHANNEL] = lambda output: split(output, settings.sms_segment_budget)
    number = {"sv": "+46709000001", "ar": "+46709000002", "en": "+46709000003"}[language]
    for index, text in enumerate(journey(language)):
        await runner.handle(CHANNEL, number, Inbound(text=text), external_id=f"SMJ{language}{index:03d}")
    async with factory() as session:
        rows = (await session.scalars(select(OutboundMessage).where(OutboundMessage.address == number))).all()
        booked = await session.scalar(select(IntakeRequest).where(IntakeRequest.channel == CHANNEL))
    await engine.dispose()
    if booked is None:
        raise RuntimeError(f"the {language} journey did not end with an intake request")
    return sum(count_segments(row.payload["text"]).count for row in rows), len(rows)


# --- main ---------------------------------------------------------------------------------------------


async def prepare(database_url: str) -> None:
    from bot import reference
    from bot.db import make_engine, session_factory, transaction
    from catalog_sync.loader import load_file, sample_files

    engine = make_engine(database_url)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        await reference.seed(session)
    for path in sample_files():
        await load_file(factory, path)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=["full", "bare", "floor"])
    parser.add_argument("--database")
    parser.add_argument("--port", type=int)
    parser.add_argument("--ready")
    args = parser.parse_args()
    if args.serve == "full":
        asyncio.run(serve_full(args.database, args.port, Path(args.ready)))
        return
    if args.serve == "bare":
        asyncio.run(serve_bare(args.port, Path(args.ready)))
        return
    if args.serve == "floor":
        asyncio.run(serve_floor(args.database, args.port, Path(args.ready)))
        return

    from bot.db import upgrade

    workdir = Path(tempfile.mkdtemp(prefix="sms-turns-"))
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    asyncio.run(prepare(url))
    floor_url = f"sqlite+aiosqlite:///{workdir / 'floor.db'}"
    upgrade(floor_url)
    segments_url = f"sqlite+aiosqlite:///{workdir / 'segments.db'}"
    upgrade(segments_url)
    asyncio.run(prepare(segments_url))
    asyncio.run(run(args, url, floor_url, segments_url))


async def run(args, url: str, floor_url: str, segments_url: str) -> None:
    from dialogs.languages import offered

    concurrency, rounds = args.conversations, args.rounds
    full = Child("full", "--database", url)
    try:
        full_tps, full_latencies, full_alone = await measure(
            full, concurrency, rounds, first_number=1_000_000
        )
    finally:
        full.stop()
    bare = Child("bare")
    try:
        bare_tps, bare_latencies, bare_alone = await measure(
            bare, concurrency, rounds, first_number=2_000_000
        )
    finally:
        bare.stop()
    floor = Child("floor", "--database", floor_url)
    try:
        floor_tps, floor_latencies, floor_alone = await measure(
            floor, concurrency, rounds, first_number=3_000_000
        )
    finally:
        floor.stop()
    ratio = bare_tps / full_tps
    ar_language = "ar" if "ar" in {lang.code for lang in offered(ROOT / "locales")} else "en"
    segments_sv, messages_sv = await journey_segments(segments_url, "sv")
    segments_ar, messages_ar = await journey_segments(segments_url, ar_language)

    turns = concurrency * rounds * len(JOURNEY_SV)
    print(f"{turns} signed webhook turns per server, {concurrency} conversations at a time")
    print(f"{'server':<8}{'turns/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'alone p50 ms':>15}")
    for name, tps, latencies, alone in (
        ("full", full_tps, full_latencies, full_alone),
        ("bare", bare_tps, bare_latencies, bare_alone),
        ("floor", floor_tps, floor_latencies, floor_alone),
    ):
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        print(f"{name:<8}{tps:>10.0f}{p50:>10.1f}{p99:>10.1f}{percentile(alone, 0.5) * 1000:>15.1f}")
    print("(alone: one conversation at a time, what a turn takes when nothing waits for the database)")
    print(f"ratio (bare_tps / full_tps): {ratio:.2f} (target <= {TARGET_RATIO:g})")
    print(
        f"floor (bare_tps / floor_tps): {bare_tps / floor_tps:.2f}: the bare handler plus only the one "
        "transaction every turn owes (its MessageSid recorded, a reply queued), no dialog"
    )
    print(f"a complete Swedish journey: {segments_sv} segments in {messages_sv} SMS")
    name = "Arabic" if ar_language == "ar" else "English"
    note = "" if ar_language == "ar" else " (no Arabic catalog yet: the English journey)"
    print(f"a complete {name} journey: {segments_ar} segments in {messages_ar} SMS{note}")
    p99_ms = percentile(full_latencies, 0.99) * 1000
    print(
        f"RESULT full_tps={full_tps:.0f} bare_tps={bare_tps:.0f} ratio={ratio:.2f} p99_ms={p99_ms:.1f} "
        f"segments_sv={segments_sv} segments_ar={segments_ar} segments_ar_language={ar_language}"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
