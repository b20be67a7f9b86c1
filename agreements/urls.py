from django.urls import path

from agreements import views

app_name = "agreements"

urlpatterns = [
    path("", views.agreement_list, name="list"),
    path("<int:agreement_id>/", views.agreement_document, name="document"),
    path("<int:agreement_id>/history/", views.version_history, name="history"),
    path("<int:agreement_id>/compare/", views.version_compare, name="compare"),
    path("<int:agreement_id>/drafts/", views.draft_create, name="draft_create"),
    path("<int:agreement_id>/v<int:number>/", views.version_document, name="version"),
    path("<int:agreement_id>/v<int:number>/submit/", views.version_submit, name="submit"),
    path("<int:agreement_id>/v<int:number>/sign/", views.version_sign, name="sign"),
    path("<int:agreement_id>/v<int:number>/return/", views.version_return, name="return"),
    path("<int:agreement_id>/v<int:number>/sections/<slug:key>/", views.section_detail, name="section"),
    path(
        "<int:agreement_id>/v<int:number>/sections/<slug:key>/edit/", views.section_edit, name="section_edit"
    ),
]
