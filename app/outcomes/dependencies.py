"""The ruleset in use, loaded and validated once at startup (`app.state.rules`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.outcomes.rules import Ruleset


def get_rules(request: Request) -> Ruleset:
    rules: Ruleset = request.app.state.rules
    return rules


RulesDep = Annotated[Ruleset, Depends(get_rules)]
