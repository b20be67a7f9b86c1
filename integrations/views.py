"""The API token page: each user makes and revokes their own tokens. Thin: forms in, services out."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from integrations.forms import ApiTokenForm
from integrations.models import ApiToken
from integrations.tokens import token_create, token_revoke
from slaportal.roles import Role, role_required

ANY_ROLE = tuple(Role)
# Post/Redirect/Get: the new token waits in the session for the one page that shows it, so a reload
# neither creates a second token nor shows this one again.
NEW_TOKEN = "integrations.new_api_token"


@role_required(*ANY_ROLE)
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        token, raw = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
        request.session[NEW_TOKEN] = {"id": token.pk, "raw": raw}
        return redirect("integrations:api_tokens")
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    new = request.session.pop(NEW_TOKEN, None) if request.method == "GET" else None
    created = next(({"token": t, "raw": new["raw"]} for t in tokens if new and t.pk == new["id"]), None)
    status = 422 if form.errors else 200
    return render(
        request,
        "integrations/api_tokens.html",
        {"tokens": tokens, "form": form, "created": created, "now": timezone.now()},
        status=status,
    )


@role_required(*ANY_ROLE)
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise Http404("No such token of yours.")
    token_revoke(token=token)
    return redirect("integrations:api_tokens")
