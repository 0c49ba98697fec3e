"""SQL that differs between PostgreSQL and SQLite, compiled for each: days, quarters, sums."""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):
    """Whole days from the first date to the second (PostgreSQL subtracts; SQLite: julianday)."""

    type = sa.Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


class utc_date(FunctionElement):
    """The UTC calendar day of a timestamp."""

    type = sa.Date()
    name = "utc_date"
    inherit_cache = True


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element, compiler, **kw):
    # SQLite keeps timestamps as naive UTC text (see models.base.UTCDateTime).
    return f"date({compiler.process(element.clauses, **kw)})"


class year_quarter(FunctionElement):
    """Year * 10 + civil quarter of a date: 20253 for a day of July 2025."""

    type = sa.Integer()
    name = "year_quarter"
    inherit_cache = True


@compiles(year_quarter, "postgresql")
def _year_quarter_postgresql(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(EXTRACT(YEAR FROM {day}) AS INTEGER) * 10 "
        f"+ CAST(EXTRACT(QUARTER FROM {day}) AS INTEGER))"
    )


@compiles(year_quarter, "sqlite")
def _year_quarter_sqlite(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%Y', {day}) AS INTEGER) * 10 "
        f"+ (CAST(strftime('%m', {day}) AS INTEGER) + 2) / 3)"
    )


class year_month(FunctionElement):
    """Year * 100 + month of a date: 202507 for a day of July 2025."""

    type = sa.Integer()
    name = "year_month"
    inherit_cache = True


@compiles(year_month, "postgresql")
def _year_month_postgresql(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(EXTRACT(YEAR FROM {day}) AS INTEGER) * 100 "
        f"+ CAST(EXTRACT(MONTH FROM {day}) AS INTEGER))"
    )


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%Y%m', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def quarter_name(year_quarter_value: int) -> str:
    """20253 → "2025-Q3"."""
    return f"{year_quarter_value // 10}-Q{year_quarter_value % 10}"


def count_where(condition):
    """How many rows meet the condition, as an aggregate."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def key_where(condition, record_key):
    """The sum of the record keys of the rows that meet the condition (their cell key)."""
    return sa.func.sum(sa.case((condition, record_key), else_=0))


def cents(money):
    """The sum of an amount in whole cents."""
    # Whole cents keep means exact and equal on both databases: SQLite sums floats.
    return sa.func.sum(sa.cast(sa.func.round(money * 100), sa.BigInteger))
