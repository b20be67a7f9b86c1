from django.urls import path

from agreements import views

app_name = "agreements"

urlpatterns = [
    path("", views.agreement_list, name="list"),
    path("<id:agreement_id>/", views.agreement_document, name="document"),
    path("<id:agreement_id>/history/", views.version_history, name="history"),
    path("<id:agreement_id>/compare/", views.version_compare, name="compare"),
    path("<id:agreement_id>/drafts/", views.draft_create, name="draft_create"),
    path("<id:agreement_id>/v<id:number>/", views.version_document, name="version"),
    path("<id:agreement_id>/v<id:number>/submit/", views.version_submit, name="submit"),
    path("<id:agreement_id>/v<id:number>/sign/", views.version_sign, name="sign"),
    path("<id:agreement_id>/v<id:number>/return/", views.version_return, name="return"),
    path("<id:agreement_id>/v<id:number>/sections/<slug:key>/", views.section_detail, name="section"),
    path("<id:agreement_id>/v<id:number>/sections/<slug:key>/edit/", views.section_edit, name="section_edit"),
]
