from django.urls import path

from leads import list_views, views

app_name = "leads"

urlpatterns = [
    path("", list_views.lead_list, name="list"),
    path("export.csv", list_views.lead_list_csv, name="list_csv"),
    path("reassign/", list_views.lead_bulk_reassign, name="bulk_reassign"),
    path("inbox/", views.inbox, name="inbox"),
    path("<id:lead_id>/", views.lead_detail, name="detail"),
    path("<id:lead_id>/accept/", views.lead_accept, name="accept"),
    path("<id:lead_id>/reject/", views.lead_reject, name="reject"),
    path("<id:lead_id>/reject/undo/", views.lead_undo_reject, name="undo_reject"),
    path("<id:lead_id>/qualify/", views.lead_qualify, name="qualify"),
    path("<id:lead_id>/close/", views.lead_close, name="close"),
    path("<id:lead_id>/reassign/", views.lead_reassign, name="reassign"),
    path("<id:lead_id>/feedback/", views.lead_feedback, name="feedback"),
    path("<id:lead_id>/erase/", views.lead_erase, name="erase"),
]
