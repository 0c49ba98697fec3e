"""The data model of DESIGN §2."""

from .activities import Activity
from .audit import AuditEvent, SignInThrottle
from .base import Base
from .deployments import Deployment, deployment_territories, user_deployments
from .follow_up import NothingToReport, Reminder, StageChange
from .imports import ImportMapping, ReportImport
from .reports import Report, ReportAction, ReportStatusChange
from .steering import (
    EvaluationCriterion,
    EvaluationQuestion,
    Milestone,
    Pack,
    PackFile,
    Target,
)
from .structures import Structure
from .territories import Territory
from .trainings import TrainingSession
from .users import AccountLink, ApiToken, User

__all__ = [
    "AccountLink",
    "Activity",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Deployment",
    "EvaluationCriterion",
    "EvaluationQuestion",
    "ImportMapping",
    "Milestone",
    "NothingToReport",
    "Pack",
    "PackFile",
    "Reminder",
    "Report",
    "ReportAction",
    "ReportImport",
    "ReportStatusChange",
    "SignInThrottle",
    "StageChange",
    "Structure",
    "Target",
    "Territory",
    "TrainingSession",
    "User",
    "deployment_territories",
    "user_deployments",
]
