"""Portable SQL expressions the two databases spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class add_days(FunctionElement[Any]):
    """`date + days` (days may be negative)."""

    type = Date()
    inherit_cache = True
    name = "add_days"

    def __init__(
        self, day: ColumnElement[Any] | InstrumentedAttribute[Any], days: ColumnElement[Any] | int
    ) -> None:
        from sqlalchemy import literal

        amount = days if isinstance(days, ColumnElement) else literal(days, Integer())
        super().__init__(day, amount)


@compiles(add_days)
def _add_days_default(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} + CAST({compiler.process(days, **kw)} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, {compiler.process(days, **kw)} || ' days')"
