"""URL map: pages, the REST API under /api/v1/ (no trailing slashes) and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import admin_import, api, api_search, views

api_v1 = [
    path("geocode", api.GeocodeView.as_view(), name="geocode"),
    path("grids/<str:code>", api.GridDetailView.as_view(), name="grid-detail"),
    path("search", api_search.SearchView.as_view(), name="search"),
    path("", include("layers.urls")),
    # Before cases: cases/<pk>/<transition> would catch cases/<pk>/recommendation.
    path("", include("dispatch.urls")),
    path("", include("tracking.urls")),
    path("", include("analysis.urls")),
    path("", include("evaluation.urls")),
    path("", include("cameras.urls")),
    path("", include("cases.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("map/", views.district_map, name="map"),
    path("tracks/", include("tracking.page_urls")),
    path("report/", include("cases.public_urls")),
    path("open311/v2/", include("cases.open311_urls")),
    path("wall/", include("cameras.page_urls")),
    path("planner/", include("analysis.page_urls")),
    path("", include("cases.page_urls")),
    path("", include("evaluation.page_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/import/", admin_import.import_view, name="admin-import"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]
