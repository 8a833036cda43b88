"""The database model. Every change goes through an Alembic migration in bot/migrations/versions."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, also on SQLite, which stores no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


# --- reference data -------------------------------------------------------------------------------


class Municipality(Base):
    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    county_code: Mapped[str] = mapped_column(String(2))
    county_name: Mapped[str] = mapped_column(String(64))
    seat: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class Agreement(Base):
    """A cooperation agreement: residents of any member may use members' offerings of the listed kinds."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[dict]
    short_name: Mapped[dict]
    kinds: Mapped[list]
    newcomer_period_months: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    members: Mapped[list[AgreementMember]] = relationship(cascade="all, delete-orphan")


class AgreementMember(Base):
    __tablename__ = "agreement_members"

    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipalities.code"), primary_key=True, index=True
    )


# --- catalogue --------------------------------------------------------------------------------------


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("source", "name", name="source_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))


# What the matching pre-filter tests besides category, municipality and start (bot/matching.py).
MATCH_FILTERS = (
    "open_to",
    "publisher_code",
    "end_date",
    "application_deadline",
    "age_min",
    "age_max",
    "swedish_level_min",
    "asylum_seekers",
)


class Offering(Base):
    """A course, internship, job or school place. `publisher_code` decides access; `municipality_code` is
    where it is held (a municipality may buy or run services in another)."""

    __tablename__ = "offerings"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="source_id"),
        Index("ix_offerings_category_status", "category", "status"),
        # Matching (bot/matching.py): one category of one municipality, soonest start first, and every
        # column the pre-filter tests, so that it reads the index alone (SQLite keeps the id in every index;
        # PostgreSQL needs it included).
        Index(
            "ix_offerings_match",
            "status",
            "category",
            "municipality_code",
            "start_date",
            *MATCH_FILTERS,
            postgresql_include=["id"],
        ),
        # Distance courses (no location) are open from anywhere: found without reading the others.
        Index(
            "ix_offerings_unlocated",
            "status",
            "category",
            "open_to",
            "publisher_code",
            "start_date",
            *MATCH_FILTERS[2:],
            "lat",
            sqlite_where=text("lat IS NULL"),
            postgresql_where=text("lat IS NULL"),
            postgresql_include=["id"],
        ),
        # Asylum seekers may attend few offerings: those, found without reading the others.
        Index(
            "ix_offerings_asylum",
            "status",
            "category",
            "municipality_code",
            "start_date",
            *MATCH_FILTERS,
            sqlite_where=text("asylum_seekers"),
            postgresql_where=text("asylum_seekers"),
            postgresql_include=["id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[dict]
    description: Mapped[dict]
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    publisher_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    application_deadline: Mapped[date | None] = mapped_column(Date)
    schedule: Mapped[list]
    pace_percent: Mapped[int | None] = mapped_column(Integer)
    languages: Mapped[list]
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    swedish_level_min: Mapped[str | None] = mapped_column(String(20))
    open_to: Mapped[str] = mapped_column(String(20))
    asylum_seekers: Mapped[bool] = mapped_column(Boolean, default=False)
    seats: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="active")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    # With status "duplicate": the offering (from a higher-priority source) shown instead of this one.
    # Re-evaluated after every sync (catalog_sync/dedupe.py), so no foreign key.
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    # A digest of the source's own text of the record (open feeds): the same text next night is not cleaned
    # and hashed again (catalog_sync/open_feed.py).
    source_digest: Mapped[str | None] = mapped_column(String(64))

    provider: Mapped[Provider | None] = relationship(lazy="joined")
    slots: Mapped[list[IntakeSlot]] = relationship(
        back_populates="offering", order_by="IntakeSlot.starts_at", cascade="all, delete-orphan"
    )


class IntakeSlot(Base):
    __tablename__ = "intake_slots"
    __table_args__ = (
        UniqueConstraint("offering_id", "starts_at", name="offering_time"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)

    offering: Mapped[Offering] = relationship(back_populates="slots")


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    # Records outside the feed's purpose (a private employer's ad), catalogue rows written, whether the
    # catalogue was kept as it was (failed or shrunk), staff told, and the first rejection reasons.
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_written: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    staff_notified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejections: Mapped[list | None]


class FeedState(Base):
    """What the last good run of a feed left for the next: HTTP validators (ETag, Last-Modified) per URL
    and the cursor of a delta feed (Susa-navet's updatedSince, JobStream's date)."""

    __tablename__ = "feed_states"

    feed: Mapped[str] = mapped_column(String(64), primary_key=True)
    validators: Mapped[dict]
    cursor: Mapped[str | None] = mapped_column(String(40))
    last_success_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- people -----------------------------------------------------------------------------------------


class Person(Base):
    """A newcomer. No name and no personal identity number: only what matching and booking need."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    consented_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    last_channel: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when the person was told their data will be erased for inactivity; cleared when they write.
    retention_warned_at: Mapped[datetime | None]
    # Set when the person muted staff announcements (NEWS OFF, the Telegram button): still served otherwise.
    news_muted_at: Mapped[datetime | None]

    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )
    profiles: Mapped[list[Profile]] = relationship(cascade="all, delete-orphan", order_by="Profile.id")


class ChannelIdentity(Base):
    """One address of a person on one channel: a Telegram chat id, an E.164 phone number, a terminal name."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "address", name="channel_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    unreachable_at: Mapped[datetime | None]
    # The per-sender rate limit: messages counted in the current one-minute window.
    window_started_at: Mapped[datetime | None]
    window_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    person: Mapped[Person] = relationship(back_populates="identities")


class Profile(Base):
    """The person themself (`kind="self"`) or one of their children (`kind="child"`)."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="self")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    permit_status: Mapped[str | None] = mapped_column(String(20))
    permit_month: Mapped[date | None] = mapped_column(Date)
    schooling_years: Mapped[int | None] = mapped_column(Integer)
    swedish_level: Mapped[str | None] = mapped_column(String(20))
    goals: Mapped[list] = mapped_column(default=list)
    max_travel_km: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[list] = mapped_column(default=list)
    # Work experience as occupation codes (bot/occupations.py); what the person wrote is never stored.
    occupations: Mapped[list] = mapped_column(default=list, server_default=text("'[]'"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConversationState(Base):
    __tablename__ = "conversation_states"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict]
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkCode(Base):
    """A one-time code that links two channels of a person (Telegram and SMS) into one person. Only a hash is
    stored; a code is short-lived and used once."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class InboundMessage(Base):
    """A delivered message, kept only to act once on a provider's redelivery. The body is never stored."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- booking ----------------------------------------------------------------------------------------

ACTIVE_REQUEST = "status IN ('requested', 'confirmed')"


class IntakeRequest(Base):
    """A person's request for an intake meeting. After the person deletes their data it stays as an
    anonymous row (person and profile set to NULL) for statistics."""

    __tablename__ = "intake_requests"
    __table_args__ = (
        Index(
            "uq_intake_requests_active",
            "person_id",
            "offering_id",
            unique=True,
            sqlite_where=text(ACTIVE_REQUEST),
            postgresql_where=text(ACTIVE_REQUEST),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="SET NULL"))
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id"), index=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("intake_slots.id"))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    language: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Why staff declined (told to the person); what the nightly sync changed after the booking ("changed"
    # or "withdrawn", shown to staff by `vagvisare intake list`), and when.
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    catalogue_change: Mapped[str | None] = mapped_column(String(20))
    catalogue_changed_at: Mapped[datetime | None]

    offering: Mapped[Offering] = relationship(lazy="joined")
    slot: Mapped[IntakeSlot | None] = relationship(lazy="joined")


ACTIVE_WAITING = "status IN ('waiting', 'offered')"


class WaitlistEntry(Base):
    """A person waiting for a seat of an offering (any of its times, or one slot). status: waiting, offered
    (a freed seat is held for them until `offer_expires_at`), booked, expired, declined or left. Adult
    education orders the least schooled first (`schooling_years`, the Education Act 20 kap. 9 §)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_entries_active",
            "person_id",
            "offering_id",
            unique=True,
            sqlite_where=text(ACTIVE_WAITING),
            postgresql_where=text(ACTIVE_WAITING),
        ),
        Index("ix_waitlist_entries_queue", "offering_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("intake_slots.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="SET NULL"))
    schooling_years: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    offered_slot_id: Mapped[int | None] = mapped_column(ForeignKey("intake_slots.id", ondelete="SET NULL"))
    offer_expires_at: Mapped[datetime | None]
    intake_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake_requests.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    offering: Mapped[Offering] = relationship(lazy="joined")
    offered_slot: Mapped[IntakeSlot | None] = relationship(lazy="joined", foreign_keys=[offered_slot_id])


class Reminder(Base):
    """A reminder is a row the application claims when due; the scheduler only triggers the sweep."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_request_id: Mapped[int] = mapped_column(ForeignKey("intake_requests.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]


# --- staff and delivery -------------------------------------------------------------------------------


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(10), default="staff")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    scopes: Mapped[list[StaffScope]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class StaffScope(Base):
    __tablename__ = "staff_scopes"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), primary_key=True)


class MunicipalitySetting(Base):
    """A municipality's own settings: the Telegram chat where its staff get new intake requests."""

    __tablename__ = "municipality_settings"

    code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), primary_key=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntakeProposal(Base):
    """Another time staff proposed for an intake request. status: open (waiting for the person), accepted,
    declined (by the person), taken (the time was gone when they said yes) or withdrawn (staff decided)."""

    __tablename__ = "intake_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_request_id: Mapped[int] = mapped_column(
        ForeignKey("intake_requests.id", ondelete="CASCADE"), index=True
    )
    slot_id: Mapped[int] = mapped_column(ForeignKey("intake_slots.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    slot: Mapped[IntakeSlot] = relationship(lazy="joined")


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    texts: Mapped[dict]
    missing_language: Mapped[str] = mapped_column(String(20), default="sv_en")
    audience: Mapped[dict]
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    scheduled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # bot/broadcasts.py: when the audience was queued in full, when it ended (everything sent, stopped or
    # cancelled), and why a dispatch failed (shown to staff, never silent).
    fanned_out_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))


class StaffDialog(Base):
    """Where a staff member is in the staff menu (bot/broadcast_menu.py): the announcement being composed,
    step by step. In the database, so a restart in the middle of composing loses nothing."""

    __tablename__ = "staff_dialogs"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAudit(Base):
    """Every staff action (create, schedule, send, cancel, stop a broadcast; add or remove staff)."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


PRIORITY_REPLY = 0
PRIORITY_REMINDER = 5
PRIORITY_BULK = 10


class OutboundMessage(Base):
    """The outbox: every message to a person is a row first; senders claim, deliver and mark them."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_queue", "status", "channel", "priority", "id"),
        # A chat's last message (is the menu a button was pressed on still the last one?): without it, the
        # lookup walks every message sent on the channel, 100,000 after one broadcast.
        Index("ix_outbound_messages_address", "channel", "address", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict]
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY_REPLY)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("announcements.id", ondelete="SET NULL"), index=True
    )
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # What the provider reported later (an SMS status callback: sent, delivered, undelivered, failed). Kept
    # apart from `status`, which is the outbox's own: a provider's "queued" must never queue a row again.
    provider_status: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # Bulk rows that must not go out in quiet hours (21:00-08:00 local): the sender leaves them queued.
    hold_quiet: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The language the row was written in (a broadcast's report counts by it).
    language: Mapped[str | None] = mapped_column(String(8))
