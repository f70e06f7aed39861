"""Portable SQL pieces the KPI queries need, compiled per dialect (SQLite and PostgreSQL).

Times are turned into Unix seconds (a float) inside the database, so durations, buckets and
overlaps are plain arithmetic on both engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# Julian day of the Unix epoch: SQLite's julianday() counts from noon, 4714 BC.
_UNIX_JULIAN_DAY = 2440587.5


class epoch(FunctionElement[float]):
    """Unix seconds of a timestamp column (SQLite stores UTC text, PostgreSQL timestamptz)."""

    type = Float()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # julianday() resolves about 50 microseconds at today's dates: rounding to the millisecond
    # gives back the exact value, so a time on a bucket's edge lands in that bucket.
    inner = compiler.process(element.clauses, **kw)
    return f"round((julianday({inner}) - {_UNIX_JULIAN_DAY}) * 86400.0, 3)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    return (
        f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"
    )


class floor_int(FunctionElement[int]):
    """The integer part of a non-negative number (SQLite's CAST truncates, PostgreSQL's rounds)."""

    type = Integer()
    inherit_cache = True
    name = "floor_int"


@compiles(floor_int, "sqlite")
def _floor_sqlite(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(floor_int, "postgresql")
def _floor_postgresql(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS BIGINT)"


class greatest(FunctionElement[float]):
    """The larger of its arguments (SQLite: scalar max())."""

    type = Float()
    inherit_cache = True
    name = "greatest"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "postgresql")
def _greatest_postgresql(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


class least(FunctionElement[float]):
    """The smaller of its arguments (SQLite: scalar min())."""

    type = Float()
    inherit_cache = True
    name = "least"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: Any, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least, "postgresql")
def _least_postgresql(element: least, compiler: Any, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"
