"""The API's URLs (under /api/): the resources, the OpenAPI schema and its pages."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from tracker.api.evidence import EvidenceViews
from tracker.api.flights import ObservationViews
from tracker.api.incidents import Csv, GeoJson, IncidentViews
from tracker.api.jobs import JobViews
from tracker.api.officials import (
    AttributionViews,
    ForceViews,
    OfficialViews,
    PostingViews,
    UnitViews,
)

app_name = "api"

router = SimpleRouter()
router.register("incidents", IncidentViews, basename="incident")
router.register("evidence", EvidenceViews, basename="evidence")
router.register("forces", ForceViews, basename="force")
router.register("units", UnitViews, basename="unit")
router.register("officials", OfficialViews, basename="official")
router.register("jobs", JobViews, basename="job")
router.register("postings", PostingViews, basename="posting")
router.register("attributions", AttributionViews, basename="attribution")
router.register("flight-observations", ObservationViews, basename="observation")

urlpatterns = [
    # Exports, addressed as files (no trailing slash), each with its own media type.
    path(
        "incidents/export.csv",
        IncidentViews.as_view({"get": "export_csv"}, renderer_classes=[Csv]),
        name="incident-export-csv",
    ),
    path(
        "incidents/export.geojson",
        IncidentViews.as_view({"get": "export_geojson"}, renderer_classes=[GeoJson]),
        name="incident-export-geojson",
    ),
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
