"""Browser views of the lead pipeline. Thin: check the role, call a service or selector, render.

Transitions answer htmx with the fragment they change: the inbox (`#inbox`), a row of the lead list
(`#lead-row-<id>`) or the lead page (`#lead-page`). A refused or lost transition comes back as 409 with the
message in place; invalid input as 422 with the form and its errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from leads import limits, permissions, selectors, services
from leads.forms import (
    CloseForm,
    FeedbackForm,
    QualifyForm,
    ReassignForm,
    RejectForm,
)
from leads.models import Feedback, Lead
from leads.services import Actor
from leads.templatetags.lead_labels import reason_label
from slaportal.roles import Role, role_required

Status = Lead.Status
ANY_ROLE = tuple(Role)


def _find(lead_id: int) -> Lead:
    try:
        return selectors.lead_detail(lead_id=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None


def _lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    lead = _find(lead_id)
    if not permissions.can_view_lead(request.user, lead):
        raise PermissionDenied("This lead belongs to another rep.")
    return lead


# ---------------------------------------------------------------------------------------------------------
# Inbox


def _render_inbox(
    request: HttpRequest, *, status: int = 200, error: str = "", done: str = "", undo: Lead | None = None
) -> HttpResponse:
    template = "leads/inbox.html#inbox" if request.htmx else "leads/inbox.html"
    context = {
        "inbox": selectors.inbox(user=request.user),
        "error": error,
        "done": done,
        "undo": undo,
        "undo_seconds": limits.REJECT_UNDO_SECONDS,
        "now": timezone.now(),
    }
    return render(request, template, context, status=status)


@role_required(*permissions.INBOX_ROLES)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return _render_inbox(request)


# ---------------------------------------------------------------------------------------------------------
# Lead page and actions


def _lead_context(request: HttpRequest, lead: Lead, **forms: Any) -> dict[str, Any]:
    actions = services.allowed_actions(lead, request.user)
    can_erase = permissions.can_erase(request.user) and lead.erased_at is None
    return {
        "lead": lead,
        "actions": actions,
        "reject_form": forms.get("reject_form") or (RejectForm(lead=lead) if actions["reject"] else None),
        "qualify_form": forms.get("qualify_form") or (QualifyForm() if actions["qualify"] else None),
        "close_form": forms.get("close_form") or (CloseForm() if actions["close"] else None),
        "reassign_form": forms.get("reassign_form")
        or (ReassignForm(lead=lead) if actions["reassign"] else None),
        "feedback_form": forms.get("feedback_form")
        or (FeedbackForm(lead=lead) if actions["feedback"] else None),
        "error": forms.get("error", ""),
        "done": forms.get("done", ""),
        "undo": forms.get("undo"),
        "undo_seconds": limits.REJECT_UNDO_SECONDS,
        "checks": (lead.explanation or {}).get("checks", []),
        "can_erase": can_erase,
        "now": timezone.now(),
    }


def _render_lead(request: HttpRequest, lead_id: int, *, status: int = 200, **forms: Any) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    template = "leads/detail.html#lead-page" if request.htmx else "leads/detail.html"
    return render(request, template, _lead_context(request, lead, **forms), status=status)


@role_required(*ANY_ROLE)
@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _render_lead(request, lead_id)


def _after(request: HttpRequest, lead_id: int, done: str = "", undo: Lead | None = None) -> HttpResponse:
    """Where a successful transition lands: the fragment the request came from (saying what was done),
    or the page."""
    target = request.htmx.target if request.htmx else None
    if target == "inbox":
        return _render_inbox(request, done=done, undo=undo)
    if target and target.startswith("lead-row-"):
        return _render_row(request, lead_id, done=done)
    if request.htmx:
        return _render_lead(request, lead_id, done=done, undo=undo)
    return redirect(reverse("leads:detail", args=[lead_id]))


def _refused(request: HttpRequest, lead_id: int, message: str) -> HttpResponse:
    target = request.htmx.target if request.htmx else None
    if target == "inbox":
        return _render_inbox(request, status=409, error=message)
    if target and target.startswith("lead-row-"):
        return _render_row(request, lead_id, status=409, error=message)
    return _render_lead(request, lead_id, status=409, error=message)


def _act(
    request: HttpRequest,
    lead_id: int,
    call: Callable[[Lead], Any],
    on_invalid: Callable[[Lead, Any], HttpResponse],
    said: Callable[[Any], str] | None = None,
) -> HttpResponse:
    lead = _find(lead_id)
    if not permissions.can_view_lead(request.user, lead):
        # In place, the page may be stale: the lead was given to someone else since it was drawn. Say who,
        # and show the page as it is now. A plain request gets the 403 page.
        reason = selectors.why_not_yours(lead, request.user) if request.htmx else ""
        if reason:
            return _refused(request, lead_id, reason)
        raise PermissionDenied("This lead belongs to another rep.")
    try:
        result = call(lead)
    except services.NotAllowed as exc:
        # Still visible but no longer theirs to act on (a manager's view of it, say): the same answer.
        if request.htmx:
            return _refused(request, lead_id, selectors.why_not_yours(lead, request.user) or str(exc))
        raise PermissionDenied(str(exc)) from None
    except (services.TransitionRefused, services.TransitionConflict) as exc:
        return _refused(request, lead_id, str(exc))
    except services.LeadValidationError as exc:
        return on_invalid(lead, exc.errors)
    # A rejection can be taken back for a few seconds: the message offers it.
    undo = result if isinstance(result, Lead) and result.status in services.REJECTED_STATUSES else None
    return _after(request, lead_id, done=(said or _what_was_done)(result), undo=undo)


def _what_was_done(result: Any) -> str:
    if isinstance(result, Lead):
        said = f"{result.full_name or result.email or result.external_id}: now {result.get_status_display()}"
        if result.status in services.REJECTED_STATUSES and result.rejection_reason:
            # Where a rejection sends the lead is its reason's doing: say which reason.
            return f"{said}, as “{reason_label(result.rejection_reason, result)}”."
        return f"{said}."
    if isinstance(result, Feedback):
        return "Your feedback was sent to marketing."
    return ""


def _with_errors(form: Any, errors: dict[str, Any]) -> Any:
    for name, messages in errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(name if name in form.fields else None, message)
    return form


@role_required(*permissions.INBOX_ROLES)
@require_POST
def lead_accept(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _act(
        request,
        lead_id,
        lambda lead: services.lead_accept(lead=lead, actor=Actor.of(request.user)),
        lambda lead, errors: _refused(request, lead_id, "; ".join(map(str, errors.values()))),
    )


@role_required(*permissions.INBOX_ROLES)
@require_POST
def lead_undo_reject(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _act(
        request,
        lead_id,
        lambda lead: services.lead_undo_reject(lead=lead, actor=Actor.of(request.user)),
        lambda lead, errors: _refused(request, lead_id, "; ".join(map(str, errors.values()))),
        lambda lead: f"Rejection undone: {lead} awaits your pickup again.",
    )


@role_required(*permissions.INBOX_ROLES)
@require_http_methods(["GET", "POST"])
def lead_reject(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    if request.method == "GET":
        # The reject form opens in place of the inbox row.
        if not permissions.is_owner(request.user, lead):
            raise PermissionDenied("Only the lead's owner can reject it.")
        form = RejectForm(lead=lead)
        form.fields["reason"].widget.attrs["autofocus"] = True  # htmx focuses it once swapped in
        return render(request, "leads/_reject_row.html", {"lead": lead, "form": form})
    form = RejectForm(request.POST, lead=lead)

    def invalid(lead: Lead, errors: Any) -> HttpResponse:
        bound = _with_errors(RejectForm(request.POST, lead=lead), errors)
        if request.htmx and request.htmx.target == "inbox":
            response = render(request, "leads/_reject_row.html", {"lead": lead, "form": bound}, status=422)
            return retarget(response, f"#lead-row-{lead.pk}")
        return _render_lead(request, lead.pk, status=422, reject_form=bound)

    if not form.is_valid():
        return invalid(lead, {})
    return _act(
        request,
        lead_id,
        lambda lead: services.lead_reject(
            lead=lead,
            actor=Actor.of(request.user),
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        ),
        invalid,
    )


def _form_action(
    request: HttpRequest,
    lead_id: int,
    form_class: type,
    form_key: str,
    call: Callable[[Lead, dict], Any],
    said: Callable[[Any], str] | None = None,
) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    needs_lead = form_class in (ReassignForm, FeedbackForm)
    form = form_class(request.POST, lead=lead) if needs_lead else form_class(request.POST)

    def invalid(lead: Lead, errors: Any) -> HttpResponse:
        target = request.htmx.target if request.htmx else None
        if target and target.startswith("lead-row-"):
            return _render_row(
                request,
                lead.pk,
                status=422,
                error="; ".join(
                    str(m)
                    for msgs in (errors or form.errors).values()
                    for m in (msgs if isinstance(msgs, list) else [msgs])
                ),
            )
        return _render_lead(request, lead.pk, status=422, **{form_key: _with_errors(form, errors)})

    if not form.is_valid():
        return invalid(lead, {})
    return _act(request, lead_id, lambda lead: call(lead, form.cleaned_data), invalid, said)


@role_required(*permissions.INBOX_ROLES)
@require_POST
def lead_qualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _form_action(
        request,
        lead_id,
        QualifyForm,
        "qualify_form",
        lambda lead, data: services.lead_qualify(lead=lead, actor=Actor.of(request.user), **data),
    )


@role_required(*permissions.CLOSE_ROLES)
@require_POST
def lead_close(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _form_action(
        request,
        lead_id,
        CloseForm,
        "close_form",
        lambda lead, data: services.lead_close(
            lead=lead, actor=Actor.of(request.user), outcome=data["outcome"]
        ),
    )


@role_required(*permissions.ERASE_ROLES)
@require_POST
def lead_erase(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    if request.POST.get("confirm") != "on":  # erasure cannot be undone: it is confirmed on purpose
        return _render_lead(request, lead_id, status=400, error="Tick the box to confirm the erasure.")
    services.lead_erase(lead=lead, actor=Actor.of(request.user))
    return redirect(reverse("leads:detail", args=[lead_id]))


@role_required(*permissions.MANAGER_ROLES)
@require_POST
def lead_reassign(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _form_action(
        request,
        lead_id,
        ReassignForm,
        "reassign_form",
        lambda lead, data: services.lead_reassign(
            lead=lead, actor=Actor.of(request.user), owner=data["owner"]
        ),
        lambda lead: f"{lead}: now with {lead.owner.get_username() if lead.owner else 'nobody'}.",
    )


@role_required(*permissions.INBOX_ROLES)
@require_POST
def lead_feedback(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _form_action(
        request,
        lead_id,
        FeedbackForm,
        "feedback_form",
        lambda lead, data: services.lead_feedback(lead=lead, actor=Actor.of(request.user), answers=data),
    )


def _render_row(
    request: HttpRequest, lead_id: int, *, status: int = 200, error: str = "", done: str = ""
) -> HttpResponse:
    lead = selectors.lead_list(filters={}).get(pk=lead_id)
    context = {
        "lead": lead,
        "is_manager": permissions.is_manager(request.user),
        "reps": list(selectors.available_reps_all()),
        "row_error": error,
        "row_done": done,
    }
    return render(request, "leads/_lead_row.html", context, status=status)
