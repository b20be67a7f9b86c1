from django.urls import path

from reporting import views

app_name = "reporting"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/", views.report_list, name="reports"),
    path("reports/<id:report_id>/", views.report_detail, name="report"),
    path("reports/<id:report_id>/csv/", views.report_csv, name="report_csv"),
]
