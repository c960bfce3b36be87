from django.urls import path

from quickbooks_sync import views

app_name = "quickbooks_sync"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
