from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from leads import work
from slaportal import views
from slaportal.converters import IdConverter

register_converter(IdConverter, "id")

urlpatterns = [
    path("", work.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("settings/", views.preferences, name="preferences"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("notices/<id:notice_id>/", views.notice_open, name="notice_open"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("agreements/", include("agreements.urls")),
    path("leads/", include("leads.urls")),
    path("reporting/", include("reporting.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/", include("integrations.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "slaportal.views.bad_request"
handler404 = "slaportal.views.not_found"
handler500 = "slaportal.views.server_error"
