"""Request dependencies of reporting to CMS."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.cms.secrets import SecretBox


def get_secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
