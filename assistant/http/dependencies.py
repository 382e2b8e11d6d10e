"""Dependencies and limits shared by the JSON API and the web pages.

Both faces refuse the same questions and reach the same service, so those rules live here
once, as ``Annotated`` aliases for route signatures.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from assistant.config import Settings
from assistant.service import AssistantService

MAX_QUESTION_CHARS = 1000
MAX_HISTORY_TURNS = 10
MAX_TOP_K = 10
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def get_service(request: Request) -> AssistantService:
    """The service the app opened at start-up (or the one a test handed in)."""
    service: AssistantService = request.app.state.service
    return service


ServiceDep = Annotated[AssistantService, Depends(get_service)]


def get_settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]


def require_admin(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(description="Bearer <admin token>")] = None,
) -> None:
    """Writes need ``Authorization: Bearer <ASSISTANT_ADMIN_TOKEN>``; with no token, none pass."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise HTTPException(
            status_code=403,
            detail="changes to the corpus are disabled: no ASSISTANT_ADMIN_TOKEN is configured",
        )
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.admin_token.get_secret_value().encode("utf-8")
    # compare_digest takes as long whatever the mismatch, so timing tells nothing.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8"), expected
    ):
        raise HTTPException(
            status_code=401,
            detail="this needs the header 'Authorization: Bearer <admin token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Annotated[None, Depends(require_admin)]
