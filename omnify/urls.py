from django.contrib import admin
from django.urls import include, path

from orchestration import probes

urlpatterns = [
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("orchestration.api.urls")),
]
