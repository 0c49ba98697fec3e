"""Declarative base, naming conventions and column types shared by every model."""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow():
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to naive UTC on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


RECORD_KEYS = 2**31 - 1  # record keys are drawn in 0 … RECORD_KEYS - 1


def new_record_key() -> int:
    """A random key for a new record: cells of figures are perturbed by the sum of their
    records' keys (the cell-key method, docs/privacy.md). Never shown outside the database."""
    return secrets.randbelow(RECORD_KEYS)


def record_key_column():
    """The record-key column of a table whose records are counted in protected figures."""
    return mapped_column(sa.Integer, default=new_record_key, server_default=sa.text("0"))


def choice(vocabulary, name):
    """A short string column restricted to the identifiers of a vocabulary."""
    return sa.Enum(
        *vocabulary,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
    )
