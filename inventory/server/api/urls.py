from django.urls import path

from inventory.server.api import views

app_name = "api"
urlpatterns = [
    path("health", views.health, name="health"),
    path("openapi.json", views.openapi, name="openapi"),
    path("benches", views.benches, name="benches"),
    path("records", views.records, name="records"),
    path("records/<str:record_id>", views.record_detail, name="record"),
]
