"""Reports: any reader may report a message once; reports queue (open, newest first) for the event's
moderators, who resolve each one (dismissed, or deleted: the message is removed), audited."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.domain.chat import ReportOutcome, ReportStatus
from arena.errors import Conflict, NotFound
from arena.ids import new_id
from arena.models.chat import ReportOut, ReportPage, ReportRequest, ReportResolution
from arena.services import trader_names
from arena.services.chat import access, posting
from arena.store import audit, dynamo
from arena.store import chat as store


def to_out(record: store.ReportRecord, with_author: bool = True) -> ReportOut:
    """`with_author`: the reported author's user id, for the moderators; the reporter is told only their report."""
    return ReportOut(
        id=record.id,
        event_id=record.event_id,
        message_id=record.message_id,
        reporter=record.reporter,
        reason=record.reason,
        created_at=record.created_at,
        status=record.status,
        author=record.author if with_author else None,
        text=record.text,
        outcome=record.outcome,
        resolved_by=record.resolved_by,
        resolved_at=record.resolved_at,
        note=record.note,
    )


def report(principal: Principal, event_id: str, message_id: str, request: ReportRequest) -> ReportOut:
    """Idempotent per (message, reporter): reporting again answers the report already filed (without the author's
    user id unless the reporter moderates the event)."""
    who = access.reader(principal, event_id)
    message = store.get_message(event_id, message_id)
    if message is None:
        raise NotFound("No such message in this chat.", code="chat_message_not_found")
    record = store.ReportRecord(
        event_id=event_id,
        id=new_id(),
        message_id=message_id,
        reporter=principal.user_id,
        reason=request.reason,
        created_at=clock.now(),
        status=ReportStatus.OPEN,
        author=message.user_id,
        text=message.text,
    )
    return to_out(store.add_report(record), trader_names.sees_user_ids(principal, who.event))


def list_reports(
    principal: Principal, event_id: str, status: ReportStatus | None, limit: int, cursor: str | None
) -> ReportPage:
    access.moderator(principal, event_id)
    items, next_cursor = store.reports(event_id, status, limit, cursor)
    return ReportPage(items=[to_out(r) for r in items], next_cursor=next_cursor)


def resolve(principal: Principal, event_id: str, report_id: str, request: ReportResolution) -> ReportOut:
    """Resolve an open report once (409 report_resolved for a second time); `deleted` removes the message
    (through the same delete as the DELETE route: audited, pushed)."""
    access.moderator(principal, event_id)
    found = store.get_report(event_id, report_id)
    if found is None:
        raise NotFound("No such report in this event.", code="report_not_found")
    if found.status is ReportStatus.RESOLVED:
        raise Conflict("This report is resolved already.", code="report_resolved", details={"outcome": found.outcome})
    now = clock.now()
    reason = request.note or f"report {report_id} {request.outcome.value}"
    resolved = dynamo.transact_write(
        [
            store.resolve_action(found, request.outcome, principal.user_id, now, request.note),
            audit.record_action(
                audit.chat_subject(event_id),
                principal.user_id,
                "chat_report_resolve",
                now,
                reason,
                report_id=report_id,
                message_id=found.message_id,
                outcome=request.outcome.value,
            ),
        ]
    )
    if resolved is not None:
        raise Conflict("This report is resolved already.", code="report_resolved")
    if request.outcome is ReportOutcome.DELETED:
        posting.delete(principal, event_id, found.message_id, reason)
    after = store.get_report(event_id, report_id) or found
    return to_out(after)
