"""Browser views of the SLA document. Thin: they check the role, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agreements import permissions, selectors, services
from agreements.clauses import SECTION_KEYS, ClauseError
from agreements.diff import version_diff
from agreements.editors import EDITORS
from agreements.forms import CompareForm, ReturnToDraftForm, SignForm
from agreements.models import Agreement, AgreementSection, AgreementVersion
from slaportal.roles import Role, role_required

APPROVER_ROLES = (Role.MARKETING_APPROVER, Role.SALES_MANAGER)
# Everyone in either department reads the SLA: it is written for both.
READER_ROLES = tuple(Role)


def _version_or_404(agreement_id: int, number: int) -> AgreementVersion:
    try:
        return selectors.version_get(agreement_id=agreement_id, number=number)
    except AgreementVersion.DoesNotExist:
        raise Http404("No such version of this agreement.") from None


def _document_url(version: AgreementVersion) -> str:
    return reverse("agreements:version", args=[version.agreement_id, version.number])


@role_required(*READER_ROLES)
@require_GET
def agreement_list(request: HttpRequest) -> HttpResponse:
    return render(request, "agreements/list.html", {"agreements": selectors.agreement_list()})


@role_required(*READER_ROLES)
@require_GET
def agreement_document(request: HttpRequest, agreement_id: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=agreement_id)
    version = selectors.version_default(agreement=agreement)
    if version is None:
        raise Http404("This agreement has no version yet.")
    return redirect(_document_url(version))


def _sign_sides(user: object, version: AgreementVersion) -> list[str]:
    """The sides `user` may still sign `version` for."""
    if version.status != AgreementVersion.Status.IN_REVIEW:
        return []
    return [s for s in permissions.signable_sides(user) if not getattr(version, f"{s}_signed_by_id")]


def _document_context(request: HttpRequest, version: AgreementVersion, **extra: object) -> dict[str, object]:
    user = request.user
    is_review = version.status == AgreementVersion.Status.IN_REVIEW
    can_edit = version.is_editable and permissions.can_edit(user)
    # A version under work is read against the one it would replace: what the approvers are signing.
    in_force = None
    if version.status in (AgreementVersion.Status.DRAFT, AgreementVersion.Status.IN_REVIEW):
        in_force = selectors.active_version(agreement_id=version.agreement_id)
    changes = version_diff(in_force, version) if in_force else []
    sign_forms = extra.pop("sign_forms", {})
    return {
        "version": version,
        "agreement": version.agreement,
        "sections": selectors.document(version),
        "can_edit": can_edit,
        "can_start_draft": version.status in ("active", "superseded")
        and permissions.can_edit(user)
        and selectors.open_version(agreement=version.agreement) is None,
        "in_force": in_force,
        "changes": changes,
        "changed_sections": [section for section in changes if section.changed],
        "unchanged_sections": [section for section in changes if not section.changed],
        "nothing_to_submit": bool(can_edit and in_force and selectors.same_content(version, in_force)),
        "sign_forms": [
            sign_forms.get(side) or SignForm(version=version, side=side)
            for side in _sign_sides(user, version)
        ],
        "can_return": is_review and permissions.can_review(user),
        "can_weigh": version.status != AgreementVersion.Status.SUPERSEDED and permissions.can_weigh(user),
        "last_return": selectors.last_return(version) if version.is_editable else None,
        "return_form": extra.pop("return_form", None) or ReturnToDraftForm(),
        **extra,
    }


@role_required(*READER_ROLES)
@require_GET
def version_document(request: HttpRequest, agreement_id: int, number: int) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    return render(request, "agreements/document.html", _document_context(request, version))


@role_required(*READER_ROLES)
@require_GET
def section_detail(request: HttpRequest, agreement_id: int, number: int, key: str) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    if key not in SECTION_KEYS:
        raise Http404("No such section.")
    if not request.htmx:
        return redirect(f"{_document_url(version)}#section-{key}")
    return _render_section(request, version, key)


def _render_section(
    request: HttpRequest,
    version: AgreementVersion,
    key: str,
    status: int = 200,
    error: str = "",
    saved: str = "",
) -> HttpResponse:
    view = selectors.section_view(version.section_map.get(key), key)
    context = {
        "version": version,
        "section": view,
        "can_edit": version.is_editable and permissions.can_edit(request.user),
        "error": error,
        "saved": saved,
    }
    response = render(request, "agreements/_section.html", context, status=status)
    if saved:
        # The page's head (Submit, what this version changes) depends on every section: it reloads itself.
        response["HX-Trigger"] = "sla-saved"
    return response


@role_required(*permissions.EDITOR_ROLES)
@require_http_methods(["GET", "POST"])
def section_edit(request: HttpRequest, agreement_id: int, number: int, key: str) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    if key not in SECTION_KEYS:
        raise Http404("No such section.")
    template = "agreements/_section_form.html" if request.htmx else "agreements/section_edit.html"
    if not version.is_editable:
        message = f"{version.label} is {version.get_status_display().lower()}; only a draft can be edited."
        if request.htmx:
            return _render_section(request, version, key, status=409, error=message)
        messages.error(request, message)
        return redirect(_document_url(version))

    section = version.section_map.get(key) or AgreementSection(version=version, key=key)
    editor = EDITORS[key](section, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if editor.is_valid():
            try:
                services.version_update_section(
                    version=version, key=key, data=editor.to_data(), prose=editor.prose, actor=request.user
                )
            except ClauseError as exc:
                editor.apply_errors(exc.errors)
            except services.VersionConflict as exc:
                editor.form.add_error(None, str(exc))
            else:
                if request.htmx:
                    fresh = _version_or_404(agreement_id, number)
                    return _render_section(request, fresh, key, saved=f"{section.title} saved.")
                messages.success(request, f"{section.title} saved.")
                return redirect(f"{_document_url(version)}#section-{key}")
        status = 422
    context = {
        "version": version,
        "agreement": version.agreement,
        "editor": editor,
        "key": key,
        "title": section.title,
    }
    return render(request, template, context, status=status)


@role_required(*permissions.EDITOR_ROLES)
@require_POST
def draft_create(request: HttpRequest, agreement_id: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=agreement_id)
    try:
        draft = services.version_create_draft(agreement=agreement, actor=request.user)
    except services.AgreementError as exc:
        messages.error(request, str(exc))
        return redirect("agreements:document", agreement_id=agreement.pk)
    messages.success(request, f"Draft {draft.label} started as a copy of the version in force.")
    return redirect(_document_url(draft))


@role_required(*permissions.EDITOR_ROLES)
@require_POST
def version_submit(request: HttpRequest, agreement_id: int, number: int) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    try:
        services.version_submit(version=version, actor=request.user)
    except ClauseError as exc:
        messages.error(request, "The draft cannot go to review until every section is valid: " + str(exc))
    except services.AgreementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{version.label} is now in review, waiting for both approvers.")
    return redirect(_document_url(version))


@role_required(*APPROVER_ROLES)
@require_POST
def version_sign(request: HttpRequest, agreement_id: int, number: int) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    side = request.POST.get("side", "")
    if not permissions.can_sign(request.user, side):
        raise PermissionDenied
    form = SignForm(request.POST, version=version, side=side)
    if not form.is_valid():
        if side in _sign_sides(request.user, version):
            form.fields["confirm"].widget.attrs["autofocus"] = True  # the error beside it, on screen
            context = _document_context(request, version, sign_forms={side: form})
            return render(request, "agreements/document.html", context, status=422)
        state = version.get_status_display().lower()
        messages.error(request, f"{version.label} cannot be signed for {side} now: it is {state}.")
        return redirect(_document_url(version))
    try:
        signed = services.version_sign(version=version, side=side, actor=request.user)
    except services.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except services.AgreementError as exc:
        messages.error(request, str(exc))
    else:
        if signed.status == AgreementVersion.Status.ACTIVE:
            messages.success(request, f"Signed for {side}. {signed.label} is now in force.")
        else:
            other = "sales" if side == "marketing" else "marketing"
            messages.success(request, f"Signed for {side}. {signed.label} now waits for {other} to sign.")
    return redirect(_document_url(version))


@role_required(*APPROVER_ROLES)
@require_POST
def version_return(request: HttpRequest, agreement_id: int, number: int) -> HttpResponse:
    version = _version_or_404(agreement_id, number)
    form = ReturnToDraftForm(request.POST)
    if form.is_valid():
        try:
            services.version_return_to_draft(
                version=version, actor=request.user, comment=form.cleaned_data["comment"]
            )
        except services.AgreementError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{version.label} went back to draft with your comment.")
        return redirect(_document_url(version))
    context = _document_context(request, version, return_form=form)
    return render(request, "agreements/document.html", context, status=422)


@role_required(*READER_ROLES)
@require_GET
def version_history(request: HttpRequest, agreement_id: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=agreement_id)
    versions = selectors.version_history(agreement=agreement)
    return render(request, "agreements/history.html", {"agreement": agreement, "versions": versions})


@role_required(*READER_ROLES)
@require_GET
def version_compare(request: HttpRequest, agreement_id: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=agreement_id)
    versions = list(selectors.version_choices(agreement=agreement))
    pair = None
    if request.GET:
        form = CompareForm(request.GET, versions=versions)
        if form.is_valid():
            pair = form.cleaned_data["a"], form.cleaned_data["b"]
    else:
        # Opening the page shows a comparison at once: what is being worked on against what is in force.
        pair = selectors.compare_default(versions)
        form = CompareForm(initial={"a": pair[0], "b": pair[1]} if pair else None, versions=versions)
    left = right = diff = None
    if pair:
        left, right = _version_or_404(agreement.pk, pair[0]), _version_or_404(agreement.pk, pair[1])
        diff = version_diff(left, right)
    context = {
        "agreement": agreement,
        "form": form,
        "versions": versions,
        "diff": diff,
        "changed": [section for section in diff or [] if section.changed],
        "left": left,
        "right": right,
    }
    return render(request, "agreements/compare.html", context, status=400 if form.errors else 200)
