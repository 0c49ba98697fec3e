"""Territories: communes, Lyon arrondissements and QPV priority neighbourhoods."""

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import TERRITORY_LEVELS
from .base import Base, UTCDateTime, choice, utcnow


class Territory(Base):
    __tablename__ = "territories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(choice(TERRITORY_LEVELS, "level"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territories.id"))
    geom = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False, deferred=True
    )
    population: Mapped[int | None]
    dwellings: Mapped[int | None]
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    parent: Mapped["Territory | None"] = relationship(remote_side=[id])

    def __repr__(self):
        return f"<Territory {self.level} {self.code} {self.name}>"
