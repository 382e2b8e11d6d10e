"""Admin API: adding, updating and removing articles over HTTP, behind a bearer token.

``POST /api/articles`` takes JSON (``ArticleIn``) or an uploaded file (multipart field
``file``: ``.md``, ``.txt`` or ``.html``). Answers: 201 added; 200 updated or unchanged (the
body says which); 404 unknown id; 413 too large; 415 another content type; 422 an article
that cannot be used, with the reason. Each change is one new index version, answered from at
once; the ingest runs in a worker thread so questions keep being answered meanwhile.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from assistant.articles.corpus import Article, ArticleError, parse_article
from assistant.http.dependencies import MAX_UPLOAD_BYTES, AdminDep, ServiceDep
from assistant.http.schemas import (
    ArticleIn,
    ArticleSummary,
    ChangeOut,
    ErrorOut,
    LogEntryOut,
    describe_errors,
)
from assistant.index.indexing import Action, IngestReport

router = APIRouter(tags=["admin"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 413, 415, 422)
}
#: Writes with a body can also answer 400 (a JSON body that is not UTF-8; a form without a
#: boundary or with fields besides "file") and 503 (too many uploads in flight).
_WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS,
    **{code: {"model": ErrorOut} for code in (400, 503)},
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            # Inline: no route takes ArticleIn as a parameter, so FastAPI never adds it to
            # #/components/schemas and a $ref to it would dangle.
            "application/json": {"schema": ArticleIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def article_from_request(request: Request, article_id: str | None = None) -> Article:
    """The article in a JSON body or an uploaded file; ``article_id`` pins its id (PUT)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"the body is over the {MAX_UPLOAD_BYTES:,}-byte limit")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            body = await _read_limited(request)
            fields = ArticleIn.model_validate_json(body)
            return Article.create(
                text=fields.text,
                title=fields.title,
                source=fields.source,
                url=fields.url,
                published=fields.published,
                language=fields.language,
                id=article_id,
            )
        if kind == "multipart/form-data":
            form = await request.form(max_files=1, max_fields=0)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(422, "the form needs one file in the field 'file'")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"the file is over the {MAX_UPLOAD_BYTES:,}-byte limit")
            article = parse_article(upload.filename or "upload.txt", data)
            return dataclasses.replace(article, id=article_id) if article_id else article
    except ArticleError as exc:
        raise HTTPException(422, str(exc)) from exc
    except ValidationError as exc:
        problems = describe_errors(exc.errors())
        message = f"the article is not valid JSON of the expected shape: {problems}"
        raise HTTPException(422, message) from exc
    raise HTTPException(415, "send the article as application/json or as multipart/form-data")


async def _read_limited(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"the body is over the {MAX_UPLOAD_BYTES:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _change(report: IngestReport, service: ServiceDep) -> tuple[int, ChangeOut]:
    (outcome,) = report.outcomes
    record = service.article(outcome.article_id)
    summary = ArticleSummary.model_validate(record) if record is not None else None
    status = 201 if outcome.action == Action.ADDED else 200
    body = ChangeOut(
        status=outcome.action.value,
        article=summary,
        index_version=report.manifest.version,
    )
    return status, body


@router.post(
    "/api/articles",
    status_code=201,
    response_model=ChangeOut,
    responses={200: {"model": ChangeOut}, **_WRITE_ERRORS},
    openapi_extra=_BODY,
)
async def add_article(request: Request, service: ServiceDep, _: AdminDep) -> JSONResponse:
    """Add an article, or update the one with its id (its URL's, else its text's)."""
    article = await article_from_request(request)
    report = await run_in_threadpool(service.ingest, [article], "api")
    status, body = _change(report, service)
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


@router.put(
    "/api/articles/{article_id}",
    response_model=ChangeOut,
    responses=_WRITE_ERRORS,
    openapi_extra=_BODY,
)
async def replace_article(
    article_id: str, request: Request, service: ServiceDep, _: AdminDep
) -> ChangeOut:
    """Replace the text and metadata of an existing article; its id stays."""
    if service.article(article_id) is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    article = await article_from_request(request, article_id)
    report = await run_in_threadpool(service.ingest, [article], "api")
    return _change(report, service)[1]


@router.delete("/api/articles/{article_id}", response_model=ChangeOut, responses=_ERRORS)
async def delete_article(article_id: str, service: ServiceDep, _: AdminDep) -> ChangeOut:
    """Remove an article: it disappears from answers at once."""
    report = await run_in_threadpool(service.remove, [article_id], "api")
    (outcome,) = report.outcomes
    if outcome.action == Action.NOT_FOUND:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return ChangeOut(status="removed", article=None, index_version=report.manifest.version)


@router.get("/api/ingest-log", response_model=list[LogEntryOut], responses=_ERRORS)
def ingest_log(
    service: ServiceDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LogEntryOut]:
    """What changed when: newest first."""
    return [LogEntryOut.model_validate(e) for e in service.ingest_log(limit)]
