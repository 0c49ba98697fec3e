"""Steering and evaluation (DESIGN §2): targets with their baseline and milestones, the
evaluation protocol, and the packs of frozen figures taken to committees and funders."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, choice, utcnow

PACK_STATUSES = ("draft", "approved", "withdrawn")
PACK_FORMATS = ("pdf", "xlsx", "csv", "json")
RENDER_STATUSES = ("pending", "rendering", "ready", "failed")


def _user_column():
    return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Target(Base):
    """What an agreement expects of an indicator in a deployment or a territory (or the whole
    programme): a baseline, then milestones. The value reached is always computed."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(sa.String(64), index=True)
    deployment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territories.id"))
    agreement: Mapped[str] = mapped_column(sa.String(200))
    baseline_value: Mapped[float]
    baseline_on: Mapped[dt.date]
    baseline_source: Mapped[str] = mapped_column(sa.String(300))
    on_track_percent: Mapped[int] = mapped_column(default=100, server_default="100")
    at_risk_percent: Mapped[int] = mapped_column(default=80, server_default="80")
    created_by_id: Mapped[int | None] = _user_column()
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    deployment = relationship("Deployment")
    territory = relationship("Territory")
    milestones = relationship(
        "Milestone",
        order_by="Milestone.due_on",
        cascade="all, delete-orphan",
        back_populates="target",
    )


class Milestone(Base):
    """The value a target expects by a date."""

    __tablename__ = "target_milestones"
    __table_args__ = (sa.UniqueConstraint("target_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"))
    due_on: Mapped[dt.date]
    value: Mapped[float]

    target = relationship("Target", back_populates="milestones")


class EvaluationQuestion(Base):
    """An evaluative question of the protocol, with the evaluator's recommendations."""

    __tablename__ = "evaluation_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.String(500))
    recommendations: Mapped[str | None] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = _user_column()
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    deployment = relationship("Deployment")
    criteria = relationship(
        "EvaluationCriterion",
        order_by="(EvaluationCriterion.position, EvaluationCriterion.id)",
        cascade="all, delete-orphan",
        back_populates="question",
    )


class EvaluationCriterion(Base):
    """A judgement criterion of a question: the indicators that answer it, and the
    qualitative evidence the evaluator writes."""

    __tablename__ = "evaluation_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.String(500))
    # Indicator identifiers, in the order they are read.
    indicators: Mapped[list] = mapped_column(sa.JSON, default=list)
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = _user_column()
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    question = relationship("EvaluationQuestion", back_populates="criteria")


class Pack(Base):
    """Figures of a deployment (or the whole programme) and a period, frozen as they were
    read: `content` is canonical JSON that never changes once written, `content_hash` its
    SHA-256. Approval makes it visible to the deployment's institutions and evaluators."""

    __tablename__ = "packs"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deployments.id"), index=True)
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    status: Mapped[str] = mapped_column(choice(PACK_STATUSES, "status"), default="draft")
    content: Mapped[str] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    # The figures' data version when frozen (the sequence on PostgreSQL, a digest on SQLite).
    data_version: Mapped[str | None] = mapped_column(sa.String(80))
    created_by_id: Mapped[int | None] = _user_column()
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    approved_by_id: Mapped[int | None] = _user_column()
    approved_at = mapped_column(UTCDateTime)
    withdrawn_at = mapped_column(UTCDateTime)

    deployment = relationship("Deployment")
    created_by = relationship("User", foreign_keys=[created_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])

    FROZEN = ("content", "content_hash", "data_version", "period_start", "period_end")

    @classmethod
    def __declare_last__(cls):
        sa.event.listen(cls, "before_update", _refuse_changing_frozen)


def _refuse_changing_frozen(_mapper, _connection, pack: "Pack") -> None:
    """Nothing the application does rewrites what a pack froze (only its approval moves)."""
    state = sa.inspect(pack)
    changed = [name for name in Pack.FROZEN if state.attrs[name].history.has_changes()]
    if changed:
        raise ValueError(f"pack {pack.id}: frozen fields cannot change ({', '.join(changed)})")


class PackFile(Base):
    """A pack rendered in one format, made once by a job that says how far it got."""

    __tablename__ = "pack_files"
    __table_args__ = (sa.UniqueConstraint("pack_id", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(sa.ForeignKey("packs.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(choice(PACK_FORMATS, "format"))
    status: Mapped[str] = mapped_column(choice(RENDER_STATUSES, "status"), default="pending")
    progress: Mapped[int] = mapped_column(default=0)
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    error: Mapped[str | None] = mapped_column(sa.String(300))
    started_at = mapped_column(UTCDateTime)
    finished_at = mapped_column(UTCDateTime)
