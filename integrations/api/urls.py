from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from integrations.api import leads as leads_api
from integrations.api.agreements import ActiveAgreementView
from integrations.api.reports import MonthlyReportListView, ReportView
from integrations.api.webhooks import WebhookSubscriptionViewSet
from slaportal.views import api_not_found

router = SimpleRouter()
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

v1 = [
    path("ping/", leads_api.PingView.as_view(), name="ping"),
    path("leads/", leads_api.LeadListCreateView.as_view(), name="leads"),
    path("leads/<id:lead_id>/", leads_api.LeadDetailView.as_view(), name="lead"),
    path("leads/<id:lead_id>/events/", leads_api.LeadEventsView.as_view(), name="lead-events"),
    path("leads/<id:lead_id>/accept/", leads_api.AcceptView.as_view(), name="lead-accept"),
    path("leads/<id:lead_id>/erase/", leads_api.EraseView.as_view(), name="lead-erase"),
    path("leads/<id:lead_id>/reject/", leads_api.RejectView.as_view(), name="lead-reject"),
    path("leads/<id:lead_id>/qualify/", leads_api.QualifyView.as_view(), name="lead-qualify"),
    path("leads/<id:lead_id>/close/", leads_api.CloseView.as_view(), name="lead-close"),
    path("leads/<id:lead_id>/reassign/", leads_api.ReassignView.as_view(), name="lead-reassign"),
    path("leads/<id:lead_id>/feedback/", leads_api.FeedbackView.as_view(), name="lead-feedback"),
    path("activities/", leads_api.ActivityIngestView.as_view(), name="activities"),
    path("agreements/active/", ActiveAgreementView.as_view(), name="agreement-active"),
    path("reports/", ReportView.as_view(), name="reports"),
    path("reports/monthly/", MonthlyReportListView.as_view(), name="reports-monthly"),
    path("", include(router.urls)),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", api_not_found),
]
