from django.urls import path

from reporting import simulation_views, views

app_name = "reporting"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/", views.report_list, name="reports"),
    path("reports/<id:report_id>/", views.report_detail, name="report"),
    path("reports/<id:report_id>/csv/", views.report_csv, name="report_csv"),
    path(
        "versions/<id:version_id>/simulation/", simulation_views.version_simulation, name="version_simulation"
    ),
    path("versions/<id:version_id>/simulate/", simulation_views.simulate, name="simulate"),
    path("simulations/<id:simulation_id>/", simulation_views.simulation_detail, name="simulation"),
    path(
        "simulations/<id:simulation_id>/cancel/", simulation_views.simulation_cancel, name="simulation_cancel"
    ),
]
