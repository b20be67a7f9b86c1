"""Project-wide pages: the health check, the error pages, and each person's settings and notices."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from slaportal.celery import app as celery_app
from slaportal.forms import PreferencesForm
from slaportal.models import Notice
from slaportal.notices import unread_count
from slaportal.preferences import chosen_time_zone, set_time_zone
from slaportal.problems import problem_response


def notices_context(request: HttpRequest) -> dict[str, object]:
    """The unread count beside "Notices" in the header (counted only when a page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notices": SimpleLazyObject(lambda: unread_count(user))}


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The person's own settings: for now, the time zone they read times in."""
    # Set by agreements.timezones.UserTimeZone: the zone a blank choice stands for.
    sla_zone = request.sla_time_zone() if hasattr(request, "sla_time_zone") else settings.TIME_ZONE
    initial = {"time_zone": chosen_time_zone(request.user)}
    form = PreferencesForm(request.POST or None, initial=initial, sla_zone=sla_zone)
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["time_zone"]
        set_time_zone(user=request.user, time_zone=zone)
        messages.success(request, f"Saved. Times are now shown in {zone or sla_zone}.")
        return redirect("preferences")
    return render(request, "preferences.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    """The person's notices, newest first, the unread ones marked."""
    mine = list(Notice.objects.filter(user=request.user)[:100])
    unread = [notice.pk for notice in mine if notice.read_at is None]
    return render(request, "notices.html", {"notices": mine, "unread": set(unread)})


@login_required
@require_GET
def notice_open(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Opening a notice reads it, then shows what it is about."""
    notice = Notice.objects.filter(user=request.user, pk=notice_id).first()
    if notice is None:
        raise Http404("No such notice.")
    if notice.read_at is None:
        Notice.objects.filter(pk=notice.pk).update(read_at=timezone.now())
    # Our own paths only (reverse() wrote them): never a redirect elsewhere.
    safe = notice.url.startswith("/") and not notice.url.startswith("//")
    return redirect(notice.url if safe else "notices")


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    Notice.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, "All notices marked as read.")
    return redirect("notices")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and compose health checks: 200 when the database and the broker answer."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    return JsonResponse(
        {"status": "ok" if all(checks.values()) else "unavailable", **checks},
        status=200 if all(checks.values()) else 503,
    )


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _is_api_path(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def _forget_an_unreadable_form(request: HttpRequest) -> None:
    """Django's error pages check the CSRF token (for the forms of the layout), and so read the form. One
    that Django refuses to read (declared in a charset other than UTF-8, a broken multipart body) would
    raise again inside the page: the 400 it caused would become a 500, with no page. Such a form is
    taken as empty from here on, as Django itself does with a broken multipart body."""
    try:
        request.POST  # noqa: B018 (reading it is the point)
    except Exception:  # whatever it is, it is why this page is shown
        request._mark_post_parse_error()


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: JSON under /api/ (integrations parse it), the page elsewhere."""
    if _api(request):
        # The API does not redirect to the slashed path (a redirected POST loses its body): it says so.
        if not request.path.endswith("/") and _is_api_path(request.path + "/"):
            return problem_response(404, f"Not found. Did you mean {request.path}/ ?")
        return problem_response(404, "Not found.")
    from django.views.defaults import page_not_found

    _forget_an_unreadable_form(request)
    return page_not_found(request, exception)


@csrf_exempt  # it changes nothing; a CSRF refusal would answer an API client with an HTML page
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Every path under /api/ that names no endpoint: a JSON 404, also with DEBUG on."""
    return not_found(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return problem_response(500, "Server error. It was logged; nothing was half-saved.")
    from django.views.defaults import server_error as page

    _forget_an_unreadable_form(request)
    return page(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return problem_response(400, "Bad request.")
    from django.views.defaults import bad_request as page

    _forget_an_unreadable_form(request)
    return page(request, exception)
