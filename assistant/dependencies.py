"""Dependencies and limits shared by the JSON API and the web pages.

Both faces refuse the same questions and reach the same service, so those rules live here
once, as ``Annotated`` aliases for route signatures.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.service import AssistantService

MAX_QUESTION_CHARS = 1000
MAX_HISTORY_TURNS = 10
MAX_TOP_K = 10


def get_service(request: Request) -> AssistantService:
    """The service the app opened at start-up (or the one a test handed in)."""
    service: AssistantService = request.app.state.service
    return service


ServiceDep = Annotated[AssistantService, Depends(get_service)]
