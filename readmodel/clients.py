"""Client records: sealed part by part, found by exact match through keyed blind indexes.

Each part of a record (identity, identifiers, contact, payer, court) is stored as its own
AES-GCM sealed value under the payload codec's key ring (``delivery.sealing.SecretBox``, bound
to the client and the part, so a value copied to another client or column does not open).
Searching never decrypts: a normalized name (given and family, case and spacing ignored), a
date of birth or an external identifier's value (the MRN) is turned into an HMAC-SHA256 under
a key derived from each codec key with its own label, and the ``client_index`` table holds
those digests (prefixed by the key's id). A search computes the digest under every key of the
ring, so records written before a key rotation are still found; an edit re-seals and
re-indexes under the active key. No column and no index holds a plaintext identifier.
"""

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import TypeAdapter
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.sealing import PREFIX, SealedSecretError, SecretBox
from models.client import ClientRecord, ClientView
from models.views import JourneyListItem, StaffAccount
from readmodel.access import SEES_ALL
from readmodel.tables import ClientIndexRow, ClientRow, JourneyRow, MemberRow

# The label that sets the blind-index keys apart from the encryption keys they derive from.
INDEX_LABEL = b"recovery-journeys client blind index v1"
NAME, DOB, MRN = "name", "dob", "mrn"
# The record's parts, each sealed in its own column.
PARTS: dict[str, tuple[str, ...]] = {
    "identity": (
        "legal_name",
        "preferred_name",
        "pronouns",
        "date_of_birth",
        "sex_at_birth",
        "gender_identity",
        "preferred_language",
        "interpreter_needed",
    ),
    "identifiers": ("identifiers",),
    "contact": ("phone", "email", "address", "emergency_contact"),
    "payer": ("payer",),
    "court": ("court",),
}
_part = TypeAdapter(dict[str, object])


def normal_name(text: str) -> str:
    """A name as the index sees it: Unicode-normalized, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normal_identifier(value: str) -> str:
    """An external identifier's value as the index sees it (surrounding spaces dropped)."""
    return unicodedata.normalize("NFKC", value).strip()


class ClientKeys(SecretBox):
    """Seals record parts and computes blind-index digests with the codec's key ring
    (``SecretBox.of`` a ring, ``SecretBox.from_settings`` the codec's).

    The ring is loaded on first use, so a process that never touches a client record never
    reads (or creates) the key file.
    """

    @cached_property
    def _index_keys(self) -> tuple[dict[str, bytes], str]:
        keys, active = self._load()
        derived = {
            key_id: HKDF(hashes.SHA256(), 32, salt=None, info=INDEX_LABEL).derive(key)
            for key_id, key in keys.items()
        }
        return derived, active

    def digest(self, kind: str, value: str) -> str:
        """The index entry of ``value`` under the active key."""
        keys, active = self._index_keys
        return self._digest(active, keys[active], kind, value)

    def digests(self, kind: str, value: str) -> list[str]:
        """The index entries ``value`` may be stored under, one per key of the ring."""
        keys, _ = self._index_keys
        return [self._digest(key_id, key, kind, value) for key_id, key in keys.items()]

    @staticmethod
    def _digest(key_id: str, key: bytes, kind: str, value: str) -> str:
        mac = hmac.new(key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{key_id}:{mac}"

    def seal_part(self, client_id: str, part: str, value: dict[str, object]) -> str:
        """One part of a record, sealed for this client and part."""
        return self.seal(f"client:{client_id}:{part}", _json(value))

    def open_part(self, client_id: str, part: str, stored: str) -> dict[str, object]:
        """One part of a record as it was sealed.

        Raises:
            SealedSecretError: an unknown key, or the value fails authentication.
        """
        if not stored.startswith(PREFIX):
            raise SealedSecretError(f"a part of {client_id} is not sealed")
        return _part.validate_json(self.open(f"client:{client_id}:{part}", stored))


def _json(value: dict[str, object]) -> str:
    return _part.dump_json(value).decode()


def index_entries(record: ClientRecord) -> list[tuple[str, str]]:
    """What a record is found by: its names (legal, and preferred with the family name), its
    date of birth and every external identifier's value."""
    family = record.legal_name.family
    names = {normal_name(f"{record.legal_name.given} {family}")}
    if record.preferred_name:
        names.add(normal_name(f"{record.preferred_name} {family}"))
    entries = [(NAME, name) for name in sorted(names)]
    entries.append((DOB, record.date_of_birth.isoformat()))
    entries += sorted({(MRN, normal_identifier(i.value)) for i in record.identifiers})
    return entries


@dataclass(frozen=True)
class ClientSearch:
    """Exact-match criteria; every one given must match."""

    name: str | None = None
    dob: date | None = None
    mrn: str | None = None

    def terms(self) -> list[tuple[str, str]]:
        """The criteria as index kinds and normalized values."""
        terms = []
        if self.name is not None:
            terms.append((NAME, normal_name(self.name)))
        if self.dob is not None:
            terms.append((DOB, self.dob.isoformat()))
        if self.mrn is not None:
            terms.append((MRN, normal_identifier(self.mrn)))
        return terms


@dataclass(frozen=True)
class Named:
    """A journey's client as lists show it: the id and the name to call them by."""

    client_id: str
    name: str


class ClientExistsError(Exception):
    """A client record with that id already exists."""


class ClientStore:
    """Add, read, edit and find client records; who may see one; a client's journeys."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: ClientKeys,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._now = clock

    def _sealed(self, client_id: str, record: ClientRecord) -> dict[str, str]:
        fields = record.model_dump(mode="json")
        return {
            part: self._keys.seal_part(client_id, part, {name: fields[name] for name in names})
            for part, names in PARTS.items()
        }

    def _index_rows(self, client_id: str, record: ClientRecord) -> list[ClientIndexRow]:
        return [
            ClientIndexRow(client_id=client_id, kind=kind, digest=self._keys.digest(kind, value))
            for kind, value in index_entries(record)
        ]

    def _view(self, row: ClientRow) -> ClientView:
        fields: dict[str, object] = {}
        for part in PARTS:
            fields.update(self._keys.open_part(row.client_id, part, getattr(row, part)))
        return ClientView(
            client_id=row.client_id,
            record=ClientRecord.model_validate_json(_json(fields)),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def add(self, client_id: str, record: ClientRecord) -> ClientView:
        """Store a new record under ``client_id`` (made by the service, never from the record).

        Raises:
            ClientExistsError: the id is taken.
        """
        now = self._now()
        async with self._sessions.begin() as session:
            if await session.get(ClientRow, client_id) is not None:
                raise ClientExistsError(f"client {client_id} already exists")
            row = ClientRow(
                client_id=client_id,
                created_at=now,
                updated_at=now,
                **self._sealed(client_id, record),
            )
            session.add(row)
            session.add_all(self._index_rows(client_id, record))
        return self._view(row)

    async def get(self, client_id: str) -> ClientView | None:
        """The record, decrypted, or None when there is none."""
        async with self._sessions() as session:
            row = await session.get(ClientRow, client_id)
        return None if row is None else self._view(row)

    async def exists(self, client_id: str) -> bool:
        """Whether a record has this id (nothing is decrypted)."""
        query = select(ClientRow.client_id).where(ClientRow.client_id == client_id)
        async with self._sessions() as session:
            return await session.scalar(query) is not None

    async def update(self, client_id: str, record: ClientRecord) -> ClientView | None:
        """Replace the record (sealed and indexed again under the active key); None when
        there is none."""
        async with self._sessions.begin() as session:
            row = await session.get(ClientRow, client_id)
            if row is None:
                return None
            for part, sealed in self._sealed(client_id, record).items():
                setattr(row, part, sealed)
            row.updated_at = self._now()
            await session.execute(
                delete(ClientIndexRow).where(ClientIndexRow.client_id == client_id)
            )
            session.add_all(self._index_rows(client_id, record))
        return self._view(row)

    async def find(self, search: ClientSearch, limit: int = 50) -> list[ClientView]:
        """Records matching every criterion exactly (no partial match), oldest first.

        Raises:
            ValueError: no criterion given.
        """
        terms = search.terms()
        if not terms:
            raise ValueError("name, dob or mrn: give at least one")
        query = select(ClientRow)
        for kind, value in terms:
            matching = select(ClientIndexRow.client_id).where(
                ClientIndexRow.kind == kind,
                ClientIndexRow.digest.in_(self._keys.digests(kind, value)),
            )
            query = query.where(ClientRow.client_id.in_(matching))
        query = query.order_by(ClientRow.created_at, ClientRow.client_id).limit(limit)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [self._view(row) for row in rows]

    async def can_see(self, staff: StaffAccount, client_id: str) -> bool:
        """Operations, supervisors and admins see every client; a clinician a client one of
        whose journeys has them on its care team."""
        if staff.role in SEES_ALL:
            return True
        query = (
            select(JourneyRow.journey_id)
            .join(MemberRow, MemberRow.journey_id == JourneyRow.journey_id)
            .where(JourneyRow.client_id == client_id, MemberRow.member_id == staff.staff_id)
            .limit(1)
        )
        async with self._sessions() as session:
            return await session.scalar(query) is not None

    async def visible(self, staff: StaffAccount, clients: Iterable[ClientView]) -> list[ClientView]:
        """The records among ``clients`` that ``staff`` may see."""
        return [c for c in clients if await self.can_see(staff, c.client_id)]

    async def names(self, staff: StaffAccount, journey_ids: Iterable[str]) -> dict[str, Named]:
        """The client of each of ``journey_ids`` that names one ``staff`` may see, with the
        name to call them by (preferred, else given), in one query; only the identity part
        of each record is opened."""
        ids = sorted(set(journey_ids))
        if not ids:
            return {}
        query = (
            select(JourneyRow.journey_id, ClientRow.client_id, ClientRow.identity)
            .join(ClientRow, ClientRow.client_id == JourneyRow.client_id)
            .where(JourneyRow.journey_id.in_(ids))
        )
        if staff.role not in SEES_ALL:
            teams = (
                select(JourneyRow.client_id)
                .join(MemberRow, MemberRow.journey_id == JourneyRow.journey_id)
                .where(MemberRow.member_id == staff.staff_id, JourneyRow.client_id.is_not(None))
            )
            query = query.where(ClientRow.client_id.in_(teams))
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        named = {}
        for journey_id, client_id, identity in rows:
            part = self._keys.open_part(client_id, "identity", identity)
            preferred, legal = part.get("preferred_name"), part.get("legal_name")
            given = legal.get("given") if isinstance(legal, dict) else None
            named[journey_id] = Named(client_id, str(preferred or given or client_id))
        return named

    async def journeys(self, client_id: str) -> list[JourneyListItem]:
        """Every journey of the client (each admission), newest first."""
        query = (
            select(JourneyRow)
            .where(JourneyRow.client_id == client_id)
            .order_by(JourneyRow.started_at.desc(), JourneyRow.journey_id)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [JourneyListItem.model_validate(r) for r in rows]
