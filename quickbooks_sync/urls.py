from django.urls import path

from quickbooks_sync import connect, views, webhooks

app_name = "quickbooks_sync"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("quickbooks/connect/", connect.connect_view, name="connect"),
    path("quickbooks/callback/", connect.callback_view, name="callback"),
    path("quickbooks/disconnect/<str:realm_id>/", connect.disconnect_view, name="disconnect"),
    path("quickbooks/webhooks/", webhooks.webhook_view, name="webhooks"),
]
