"""Imports of partners' spreadsheets: the file kept until it is imported, what its check
found, and the column and value mappings each structure saves by name."""

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, choice, utcnow

IMPORT_STATUSES = ("checking", "checked", "importing", "imported", "failed")


class ImportMapping(Base):
    """Which column of a partner's file fills which field, and which of their own words
    stand for which code, saved under a name for the next file of the same kind."""

    __tablename__ = "import_mappings"
    __table_args__ = (sa.UniqueConstraint("structure_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    columns: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    values: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ReportImport(Base):
    """One file sent for import: checked first (a dry run), stored only when asked."""

    __tablename__ = "report_imports"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    structure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int]
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    sheet: Mapped[str | None] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.String(300))
    mapping_name: Mapped[str | None] = mapped_column(sa.String(100))
    columns: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    values: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(choice(IMPORT_STATUSES, "status"), default="checking")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list, deferred=True)
    preview: Mapped[list] = mapped_column(sa.JSON, default=list, deferred=True)
    unknown_words: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    failure: Mapped[str | None] = mapped_column(sa.String(300))
    valid_only: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    checked_at = mapped_column(UTCDateTime)
    committed_at = mapped_column(UTCDateTime)

    structure = relationship("Structure")
