"""What an unexpected error may say in a log: where it happened, never what it carried.

An exception's message can hold the values it was raised over: asyncpg puts a bound value into
"invalid input for query argument $1: ...", PostgreSQL a row's key into "Key (mbi)=(...) already
exists", and our own code may format a patient's data into a message. A log line therefore gets
the exception types and the stack (file, line, function) of the whole chain, and the request id
that ties it to the request; the messages stay out (docs/api.md "Operations").
"""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    """The exception chain as types and frames only, oldest cause first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    parts = []
    for link in reversed(chain):
        frames = traceback.extract_tb(link.__traceback__)
        where = " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames))
        kind = f"{type(link).__module__}.{type(link).__qualname__}"
        parts.append(f"{kind} at {where}" if where else kind)
    return " | caused ".join(parts)
