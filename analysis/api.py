"""Thin API views of analyses: heatmap, hotspots, exports, background jobs and downloads.

Who: planners, evaluators, commanders, the office head and administrators over the district; a
community lead within their community only (a community outside it is a 404, as if it did not
exist); any other role 403. Bad input is a 400 naming the parameter; a filter that matches
nothing is a 400 too, never an empty file.
"""

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .counts import counts_run
from .jobs import LinkExpired, download_job, download_url, job_create
from .models import AnalysisJob
from .selection import (
    AnalysisForbidden,
    AnalysisInputError,
    AnalysisNotFound,
    analysis_user_check,
)
from .services import analysis_check, analysis_run

#: Exports of more cases than this are refused here and run as jobs instead.
EXPORT_SYNC_MAX = int(getattr(settings, "GRIDMAP_EXPORT_SYNC_MAX", 50_000))

FILTER_PARAMETERS = [
    OpenApiParameter("reported_after", str, description="ISO 8601 date or time (inclusive)"),
    OpenApiParameter("reported_before", str, description="ISO 8601 date or time (exclusive)"),
    OpenApiParameter("category", str, many=True, description="category codes (E0401, …)"),
    OpenApiParameter("source", str, many=True),
    OpenApiParameter("community", str, many=True, description="community codes"),
    OpenApiParameter("stage", str, many=True),
]


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "gone"


class TooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class FileNegotiation(DefaultContentNegotiation):
    """Our ``format`` parameter names the file to make (png, gpkg…), not one of DRF's
    renderers: without this DRF answers 404 to ``?format=png``. Errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _failed(exc: Exception) -> APIException:
    if isinstance(exc, AnalysisInputError):
        return ValidationError({exc.field: [exc.message]})
    if isinstance(exc, AnalysisNotFound):
        return NotFound(str(exc))
    return PermissionDenied(str(exc))


ANALYSIS_ERRORS = (AnalysisInputError, AnalysisNotFound, AnalysisForbidden)


def _file_response(result, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(result.content, content_type=result.content_type)
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{result.filename}"'
    return response


class HeatmapView(APIView):
    """``GET /api/v1/analysis/heatmap``: kernel density of the filtered cases — ``format=png``
    (the overlay; its WGS-84 bounds in the ``X-Bounds`` header as JSON ``[[s, w], [n, e]]``),
    ``tiff`` (GeoTIFF, storage CRS), ``html`` (a folium map that works offline), ``json`` (the
    overlay as a data URL with its bounds and figures)."""

    content_negotiation_class = FileNegotiation

    @extend_schema(
        operation_id="analysis_heatmap",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("cell_m", float, description="cell size, metres (default 25)"),
            OpenApiParameter("bandwidth_m", float, description="bandwidth, metres (default 150)"),
            OpenApiParameter("kernel", str, enum=["quartic", "gaussian"]),
            OpenApiParameter("format", str, enum=["png", "tiff", "html", "json"]),
        ],
        responses={(200, "image/png"): OpenApiTypes.BINARY, 400: None, 403: None, 404: None},
    )
    def get(self, request):
        try:
            result = analysis_run("heatmap", request.query_params, user=request.user)
        except ANALYSIS_ERRORS as exc:
            raise _failed(exc) from None
        if result.content_type == "application/json":
            return HttpResponse(result.content, content_type=result.content_type)
        response = _file_response(result, attachment=result.filename.endswith((".tif", ".html")))
        if "bounds" in result.summary:
            response["X-Bounds"] = str(result.summary["bounds"])
        return response


class HotspotsView(APIView):
    """``GET /api/v1/analysis/hotspots``: Getis-Ord Gi* per unit grid (``unit=grids``) or H3
    hexagon (``unit=h3&resolution=10``) as a GeoJSON FeatureCollection in WGS-84: count, z, p,
    class (hot_99 … cold_99), Mann-Kendall trend and label (new, intensifying, persistent,
    diminishing, sporadic), and a ``summary``."""

    content_negotiation_class = FileNegotiation

    @extend_schema(
        operation_id="analysis_hotspots",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("unit", str, enum=["grids", "h3"]),
            OpenApiParameter("resolution", int, description="H3 resolution (6-12, default 10)"),
            OpenApiParameter("permutations", int, description="0 (analytic p) or e.g. 999"),
            OpenApiParameter("fdr", bool, description="false discovery rate correction"),
            OpenApiParameter("trend", bool, description="weekly trend labels (default true)"),
        ],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, 400: None, 403: None},
    )
    def get(self, request):
        try:
            result = analysis_run("hotspots", request.query_params, user=request.user)
        except ANALYSIS_ERRORS as exc:
            raise _failed(exc) from None
        return HttpResponse(result.content, content_type=result.content_type)


class ExportView(APIView):
    """``GET /api/v1/analysis/export?format=geojson|gpkg|shp|csv|xlsx``: the filtered cases as
    a file. More than ``GRIDMAP_EXPORT_SYNC_MAX`` cases (50,000): 413, run it as a job
    (``POST /api/v1/analysis/jobs``)."""

    content_negotiation_class = FileNegotiation

    @extend_schema(
        operation_id="analysis_export",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("format", str, enum=["geojson", "gpkg", "shp", "csv", "xlsx"]),
            OpenApiParameter("crs", str, description="4326 or the storage CRS (gpkg, shp)"),
            OpenApiParameter("shp_encoding", str, enum=["utf-8", "gbk"]),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 400: None, 413: None},
    )
    def get(self, request):
        try:
            count = analysis_check("export", request.query_params, user=request.user)
            if count > EXPORT_SYNC_MAX:
                raise TooLarge(
                    _(
                        "%(n)s cases are more than an export answered at once (%(max)s): "
                        "POST /api/v1/analysis/jobs with kind=export and the same parameters, "
                        "then download the file when the job is done."
                    )
                    % {"n": f"{count:,}", "max": f"{EXPORT_SYNC_MAX:,}"}
                )
            result = analysis_run("export", request.query_params, user=request.user)
        except ANALYSIS_ERRORS as exc:
            raise _failed(exc) from None
        return _file_response(result, attachment=True)


class CountsView(APIView):
    """``GET /api/v1/analysis/counts?by=week|month|category|source|community|stage``: the
    filtered cases counted per week or month (every period listed, empty ones as 0) or per
    category, source, community or stage (with labels, largest first) — for charts."""

    @extend_schema(
        operation_id="analysis_counts",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "by", str, enum=["week", "month", "category", "source", "community", "stage"]
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: None, 403: None, 404: None},
    )
    def get(self, request):
        try:
            return Response(counts_run(request.query_params, user=request.user))
        except ANALYSIS_ERRORS as exc:
            raise _failed(exc) from None


class JobInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AnalysisJob.Kind.choices)
    params = serializers.DictField(required=False, default=dict)


def job_json(job: AnalysisJob, request) -> dict:
    out = {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress, 3),
        "message": job.message,
        "params": job.params,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "url": reverse("analysis-job", kwargs={"pk": job.pk}),
    }
    if job.status == AnalysisJob.Status.DONE:
        out |= {
            "summary": job.summary,
            "filename": job.filename,
            "size_bytes": job.size_bytes,
            "download": request.build_absolute_uri(download_url(job)),
            "download_expires_in_s": int(getattr(settings, "GRIDMAP_ANALYSIS_LINK_TTL_S", 3600)),
        }
    return out


class JobListView(APIView):
    """``POST /api/v1/analysis/jobs`` ``{"kind": "export", "params": {"format": "gpkg",
    …filters}}``: run an analysis in the background (202 with the job; its parameters are
    checked first: 400 on bad input). ``GET``: your recent jobs."""

    @extend_schema(operation_id="analysis_jobs_list", responses={200: None, 403: None})
    def get(self, request):
        try:
            analysis_user_check(request.user)
        except AnalysisForbidden as exc:
            raise PermissionDenied(str(exc)) from None
        jobs = AnalysisJob.objects.filter(user=request.user)[:50]
        return Response({"jobs": [job_json(j, request) for j in jobs]})

    @extend_schema(
        operation_id="analysis_jobs_create",
        request=JobInput,
        responses={202: None, 400: None, 403: None, 404: None},
    )
    def post(self, request):
        data = JobInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            job = job_create(
                kind=data.validated_data["kind"],
                params=data.validated_data["params"],
                user=request.user,
            )
        except ANALYSIS_ERRORS as exc:
            raise _failed(exc) from None
        response = Response(job_json(job, request), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("analysis-job", kwargs={"pk": job.pk})
        return response


class JobDetailView(APIView):
    """``GET /api/v1/analysis/jobs/<id>``: status, progress (0…1) and message; when done, the
    summary and a signed download link that expires. Only its owner sees a job (else 404)."""

    @extend_schema(operation_id="analysis_job", responses={200: None, 404: None})
    def get(self, request, pk):
        job = AnalysisJob.objects.filter(pk=pk, user=request.user).first()
        if job is None:
            raise NotFound(_("No such job."))
        return Response(job_json(job, request))


class DownloadView(APIView):
    """``GET /api/v1/analysis/downloads/<token>``: a finished job's file, for as long as the
    signed link is fresh (410 once it has expired; 404 for a forged one)."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="analysis_download",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: None, 410: None},
    )
    def get(self, request, token: str):
        try:
            job = download_job(token)
        except LinkExpired:
            raise Gone(_("This download link has expired: ask for the job again.")) from None
        except AnalysisNotFound:
            raise NotFound(_("No such download.")) from None
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=job.filename,
            content_type=job.content_type,
        )
