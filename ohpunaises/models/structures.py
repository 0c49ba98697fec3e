"""Partner structures."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import CADENCES, RECORDED_STAGES, STRUCTURE_KINDS
from .base import Base, UTCDateTime, choice, record_key_column, utcnow


class Structure(Base):
    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(choice(STRUCTURE_KINDS, "kind"))
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("territories.id"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deployments.id"))
    # None until the agreement is signed: prospects exist before they join.
    onboarded_on: Mapped[dt.date | None]
    trained_on: Mapped[dt.date | None]
    active: Mapped[bool] = mapped_column(default=True)
    # The last stage the team recorded (models.follow_up.StageChange keeps the history);
    # trained, active and silent are derived from the data (ohpunaises.cadence).
    stage: Mapped[str] = mapped_column(
        choice(RECORDED_STAGES, "stage"), default="agreement", server_default="agreement"
    )
    reporting_cadence: Mapped[str] = mapped_column(
        choice(CADENCES, "reporting_cadence"), default="monthly", server_default="monthly"
    )
    reminders_opted_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_demo: Mapped[bool] = mapped_column(default=False)
    # The partner's contact person (their staff, never a household).
    contact_name: Mapped[str | None] = mapped_column(sa.String(120))
    contact_function: Mapped[str | None] = mapped_column(sa.String(120))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))
    record_key: Mapped[int] = record_key_column()
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    commune = relationship("Territory")
    deployment = relationship("Deployment")

    def __repr__(self):
        return f"<Structure {self.id} {self.name}>"
