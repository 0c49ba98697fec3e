"""Deployments: the territories where the programme runs."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

deployment_territories = sa.Table(
    "deployment_territories",
    Base.metadata,
    sa.Column(
        "deployment_id", sa.ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "territory_id", sa.ForeignKey("territories.id", ondelete="CASCADE"), primary_key=True
    ),
)

user_deployments = sa.Table(
    "user_deployments",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "deployment_id", sa.ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    started_on: Mapped[dt.date]
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    territories = relationship("Territory", secondary=deployment_territories)
