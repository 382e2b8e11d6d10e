"""Feeds API: subscribe to RSS and Atom feeds, list them, poll one now, unsubscribe.

Behind the admin token, like the other writes (and the list too: a feed's URL may carry a
token of its own). ``POST /api/feeds`` answers 201 with the new feed, or 200 with the one
already subscribed to that URL; a running server polls a new feed at once.
``POST /api/feeds/{id}/refresh`` polls it now, in a worker thread, and answers with what the
poll did (409 while another process polls it). ``DELETE /api/feeds/{id}`` unsubscribes; the
articles the feed brought stay.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from assistant.feeds.polling import PollReport
from assistant.feeds.subscriptions import FeedError, Subscriptions, poll_now
from assistant.http.dependencies import AdminDep, ServiceDep, SettingsDep
from assistant.http.schemas import ErrorOut, FeedIn, FeedOut, PollOut

router = APIRouter(tags=["feeds"])

#: 400 and 413 come from in front of the routes: a body that is not UTF-8 JSON, or too large.
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 413, 422)
}


def get_subscriptions(service: ServiceDep, settings: SettingsDep) -> Subscriptions:
    return Subscriptions(service.backend, settings)


SubscriptionsDep = Annotated[Subscriptions, Depends(get_subscriptions)]


def _found(subscriptions: Subscriptions, feed_id: int) -> FeedOut:
    feed = subscriptions.get(feed_id)
    if feed is None:
        raise HTTPException(404, f"no feed with id {feed_id}")
    return FeedOut.model_validate(feed)


@router.post(
    "/api/feeds",
    status_code=201,
    response_model=FeedOut,
    responses={200: {"model": FeedOut}, **_ERRORS},
)
def add_feed(
    body: FeedIn, request: Request, subscriptions: SubscriptionsDep, _: AdminDep
) -> JSONResponse:
    """Subscribe to a feed; the same URL again answers 200 with the existing feed."""
    try:
        feed, added = subscriptions.add(body.url, body.every_seconds)
    except FeedError as exc:
        problem = {"type": "value_error", "loc": ("body", "url"), "msg": str(exc)}
        raise RequestValidationError([problem]) from exc
    poller = getattr(request.app.state, "poller", None)
    if added and poller is not None:
        poller.wake()
    out = FeedOut.model_validate(feed).model_dump(mode="json")
    return JSONResponse(out, status_code=201 if added else 200)


@router.get("/api/feeds", response_model=list[FeedOut], responses=_ERRORS)
def list_feeds(subscriptions: SubscriptionsDep, _: AdminDep) -> list[FeedOut]:
    """Every feed with its state: when it was last polled, how, and what it brought."""
    return [FeedOut.model_validate(f) for f in subscriptions.list()]


@router.post(
    "/api/feeds/{feed_id}/refresh",
    response_model=PollOut,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
)
async def refresh_feed(
    feed_id: int,
    service: ServiceDep,
    settings: SettingsDep,
    subscriptions: SubscriptionsDep,
    _: AdminDep,
) -> PollOut:
    """Poll a feed now, whether it is due or not; answers when the poll is done."""
    _found(subscriptions, feed_id)
    report: PollReport = await run_in_threadpool(poll_now, service, settings, feed_id)
    if report.status == "busy":
        raise HTTPException(409, f"feed {feed_id} is being polled right now; try again shortly")
    if report.feed is None:  # removed meanwhile
        raise HTTPException(404, f"no feed with id {feed_id}")
    return PollOut(
        status=report.status,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        failed=report.failed,
        requests=report.requests,
        index_version=report.index_version,
        error=report.error,
        seconds=report.seconds,
        feed=FeedOut.model_validate(report.feed),
    )


@router.delete("/api/feeds/{feed_id}", response_model=FeedOut, responses=_ERRORS)
def remove_feed(feed_id: int, subscriptions: SubscriptionsDep, _: AdminDep) -> FeedOut:
    """Unsubscribe; answers with the feed as it was. The articles it brought stay."""
    feed = _found(subscriptions, feed_id)
    if not subscriptions.remove(feed_id):
        raise HTTPException(404, f"no feed with id {feed_id}")
    return feed
