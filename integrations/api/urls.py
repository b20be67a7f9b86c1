from typing import Any

from django.urls import URLPattern, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from integrations.api import leads as leads_api
from integrations.api.agreements import ActiveAgreementView
from integrations.api.reports import MonthlyReportListView, ReportView
from integrations.api.simulations import SimulationCancelView, SimulationCreateView, SimulationDetailView
from integrations.api.webhooks import WebhookSubscriptionViewSet
from slaportal.views import api_not_found

# The documented paths end without a slash. The API's first paths ended with one; they still answer, the
# same, for clients written against them, and stay out of the schema (integrations.api.schema).
router = SimpleRouter(trailing_slash="")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")


def endpoint(route: str, view: Any, name: str) -> list[URLPattern]:
    """The path without a trailing slash (named, documented) and the same path with one."""
    return [path(route, view, name=name), path(f"{route}/", view)]


def with_slash(patterns: list[URLPattern]) -> list[URLPattern]:
    """The router's paths with a trailing slash too, unnamed: the same views."""
    return [re_path(p.pattern.regex.pattern.removesuffix("$") + "/$", p.callback) for p in patterns]


v1 = [
    *endpoint("ping", leads_api.PingView.as_view(), "ping"),
    *endpoint("leads", leads_api.LeadListCreateView.as_view(), "leads"),
    *endpoint("leads/<id:lead_id>", leads_api.LeadDetailView.as_view(), "lead"),
    *endpoint("leads/<id:lead_id>/events", leads_api.LeadEventsView.as_view(), "lead-events"),
    *endpoint("leads/<id:lead_id>/accept", leads_api.AcceptView.as_view(), "lead-accept"),
    *endpoint("leads/<id:lead_id>/erase", leads_api.EraseView.as_view(), "lead-erase"),
    *endpoint("leads/<id:lead_id>/reject", leads_api.RejectView.as_view(), "lead-reject"),
    *endpoint("leads/<id:lead_id>/qualify", leads_api.QualifyView.as_view(), "lead-qualify"),
    *endpoint("leads/<id:lead_id>/close", leads_api.CloseView.as_view(), "lead-close"),
    *endpoint("leads/<id:lead_id>/reassign", leads_api.ReassignView.as_view(), "lead-reassign"),
    *endpoint("leads/<id:lead_id>/feedback", leads_api.FeedbackView.as_view(), "lead-feedback"),
    *endpoint("activities", leads_api.ActivityIngestView.as_view(), "activities"),
    *endpoint("agreements/active", ActiveAgreementView.as_view(), "agreement-active"),
    *endpoint(
        "agreements/<id:agreement_id>/simulations", SimulationCreateView.as_view(), "agreement-simulations"
    ),
    *endpoint("simulations/<id:simulation_id>", SimulationDetailView.as_view(), "simulation"),
    *endpoint("simulations/<id:simulation_id>/cancel", SimulationCancelView.as_view(), "simulation-cancel"),
    *endpoint("reports", ReportView.as_view(), "reports"),
    *endpoint("reports/monthly", MonthlyReportListView.as_view(), "reports-monthly"),
    *router.urls,
    *with_slash(router.urls),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", api_not_found),
]
