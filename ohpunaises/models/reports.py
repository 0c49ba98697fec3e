"""Reports: one intervention in one dwelling, with its follow-up."""

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import (
    ACTIONS,
    BUILDING_TYPES,
    CONFIRMATIONS,
    COST_PAYERS,
    HOUSING,
    INFESTATION_LEVELS,
    SOURCES,
    STATUSES,
)
from .base import Base, UTCDateTime, choice, record_key_column, utcnow

Money = sa.Numeric(10, 2)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        sa.Index("ix_reports_structure_id_dwelling_key", "structure_id", "dwelling_key"),
        sa.Index("ix_reports_created_at_id", "created_at", "id"),
        # The indicators' cache reads the latest change from the end of this index.
        sa.Index("ix_reports_updated_at", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(choice(SOURCES, "source"), default="api")
    intervention_date: Mapped[dt.date] = mapped_column(index=True)

    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("territories.id"), index=True)
    arrondissement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("territories.id"), index=True
    )
    qpv_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territories.id"), index=True)

    housing: Mapped[str] = mapped_column(choice(HOUSING, "housing"))
    building_type: Mapped[str | None] = mapped_column(choice(BUILDING_TYPES, "building_type"))
    household_size: Mapped[int | None] = mapped_column(sa.SmallInteger)
    vuln_minimum_benefits: Mapped[bool] = mapped_column(default=False)
    vuln_isolated_elderly: Mapped[bool] = mapped_column(default=False)
    vuln_disability: Mapped[bool] = mapped_column(default=False)
    vuln_young_children: Mapped[bool] = mapped_column(default=False)
    vuln_psychological_distress: Mapped[bool] = mapped_column(default=False)

    infestation_level: Mapped[str] = mapped_column(choice(INFESTATION_LEVELS, "infestation_level"))
    confirmation: Mapped[str | None] = mapped_column(choice(CONFIRMATIONS, "confirmation"))

    cost_total: Mapped[Decimal | None] = mapped_column(Money)
    cost_payer: Mapped[str | None] = mapped_column(choice(COST_PAYERS, "cost_payer"))
    cost_household: Mapped[Decimal | None] = mapped_column(Money)

    status: Mapped[str] = mapped_column(choice(STATUSES, "status"), default="ongoing", index=True)
    resolved_on: Mapped[dt.date | None]
    dwelling_key: Mapped[str | None] = mapped_column(sa.String(64))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    payload_hash: Mapped[str | None] = mapped_column(sa.String(64))
    record_key: Mapped[int] = record_key_column()
    anonymised_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    version: Mapped[int] = mapped_column(default=1)

    structure = relationship("Structure")
    author = relationship("User")
    commune = relationship("Territory", foreign_keys=[commune_id])
    arrondissement = relationship("Territory", foreign_keys=[arrondissement_id])
    qpv = relationship("Territory", foreign_keys=[qpv_id])
    action_rows = relationship(
        "ReportAction", cascade="all, delete-orphan", order_by="ReportAction.action"
    )
    history = relationship(
        "ReportStatusChange",
        cascade="all, delete-orphan",
        order_by="ReportStatusChange.id",
        back_populates="report",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def actions(self) -> list[str]:
        return [row.action for row in self.action_rows]

    @actions.setter
    def actions(self, values):
        self.action_rows = [ReportAction(action=value) for value in dict.fromkeys(values)]

    def __repr__(self):
        return f"<Report {self.id}>"


class ReportAction(Base):
    """One action taken during an intervention."""

    __tablename__ = "report_actions"

    report_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(choice(ACTIONS, "action"), primary_key=True, index=True)


class ReportStatusChange(Base):
    """A step of a report's follow-up: who set which status, and when."""

    __tablename__ = "report_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(choice(STATUSES, "status"))
    resolved_on: Mapped[dt.date | None]
    changed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    report = relationship("Report", back_populates="history")
    changed_by = relationship("User")
