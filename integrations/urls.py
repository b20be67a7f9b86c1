from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<id:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
