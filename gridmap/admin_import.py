"""The admin's import page: upload a file, see the report and a preview map, then confirm.

It runs the same importer as ``manage.py import_district`` / ``import_components``: the first
pass is a dry run (nothing written) whose report and map the administrator reads; "Import"
runs it again for real on the stored upload. Uploads are kept under MEDIA_ROOT/imports/ only
between the two steps.
"""

import json
import shutil
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .importing import LEVELS, ImportOptions, ReadError, import_file, read_source

ACCEPTED = {".geojson", ".json", ".zip", ".gpkg", ".kml", ".csv", ".xlsx", ".shp"}
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
PREVIEW_LIMIT = 5000


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("GeoJSON, zipped Shapefile, GeoPackage, KML, CSV or Excel"),
    )
    # Callable: apps add levels (cameras) when they are ready, after this module is imported.
    level = forms.ChoiceField(label=_("Level"), choices=lambda: [(name, name) for name in LEVELS])
    layer = forms.CharField(label=_("Layer"), required=False)
    srs = forms.CharField(
        label=_("Coordinate system"),
        required=False,
        help_text=_("EPSG code, gcj02 or bd09; empty: the file's own"),
    )
    code_field = forms.CharField(label=_("Code column"), initial="code")
    name_field = forms.CharField(label=_("Name column"), initial="name")
    parent_field = forms.CharField(label=_("Parent code column"), required=False)
    kind = forms.CharField(label=_("Zone kind"), required=False)
    fields = forms.CharField(
        label=_("Other attributes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One NAME=COLUMN per line, e.g. holder=店名"),
    )
    lon_field = forms.CharField(label=_("Longitude column"), required=False)
    lat_field = forms.CharField(label=_("Latitude column"), required=False)
    repair = forms.BooleanField(label=_("Repair invalid geometry"), required=False)
    replace = forms.BooleanField(label=_("Delete what the file no longer has"), required=False)
    upload = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        suffix = Path(upload.name).suffix.lower()
        if suffix not in ACCEPTED:
            raise forms.ValidationError(
                _("%(name)s: not a file type the importer reads (%(types)s); zip a Shapefile.")
                % {"name": upload.name, "types": ", ".join(sorted(ACCEPTED))}
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 200 MB."))
        return upload

    def clean_fields(self):
        mapping = {}
        for line in self.cleaned_data.get("fields", "").splitlines():
            if not line.strip():
                continue
            name, sep, column = line.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise forms.ValidationError(_("%(line)r: expected NAME=COLUMN") % {"line": line})
            mapping[name.strip()] = column.strip()
        return mapping

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("upload"):
            raise forms.ValidationError(_("Choose a file to import."))
        return data

    def options(self, *, dry_run: bool) -> ImportOptions:
        d = self.cleaned_data
        return ImportOptions(
            level=d["level"],
            layer=d["layer"] or None,
            srs=d["srs"] or None,
            code_field=d["code_field"],
            name_field=d["name_field"],
            parent_field=d["parent_field"] or None,
            kind=d["kind"] or None,
            fields=d["fields"],
            lon_field=d["lon_field"] or None,
            lat_field=d["lat_field"] or None,
            repair=d["repair"],
            replace=d["replace"],
            dry_run=dry_run,
        )


def _upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _store(upload) -> str:
    token = uuid.uuid4().hex
    folder = _upload_dir() / token
    folder.mkdir(parents=True)
    with (folder / Path(upload.name).name).open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def _stored_file(token: str) -> Path | None:
    if not token or not token.isalnum():
        return None
    folder = _upload_dir() / token
    files = list(folder.glob("*")) if folder.is_dir() else []
    return files[0] if files else None


def _preview(path: Path, options: ImportOptions) -> dict | None:
    """The file's features as WGS-84 GeoJSON for the preview map (the first few thousand)."""
    try:
        source = read_source(
            path,
            layer=options.layer,
            srs=options.srs,
            lon_field=options.lon_field,
            lat_field=options.lat_field,
        )
    except ReadError:
        return None
    frame = source.frame.head(PREVIEW_LIMIT)
    frame = frame.to_crs(4326)
    keep = [c for c in (options.code_field, options.name_field) if c in frame.columns]
    return json.loads(frame[[*keep, "geometry"]].to_json(na="drop", drop_id=True))


@staff_member_required
def import_view(request):
    """Upload → dry run with report and preview → confirm → import."""
    if not (request.user.is_superuser or request.user.role == "admin"):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": _("Import district data")}
    if request.method != "POST":
        return render(
            request,
            "admin/gridmap/import.html",
            {**context, "form": ImportForm(initial={"level": "community"})},
        )
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "admin/gridmap/import.html", {**context, "form": form})
    confirm = "confirm" in request.POST
    token = form.cleaned_data["upload"] if confirm else _store(form.cleaned_data["file"])
    path = _stored_file(token)
    if path is None:
        form.add_error(None, _("The uploaded file has expired; upload it again."))
        return render(request, "admin/gridmap/import.html", {**context, "form": form})
    report = import_file(path, form.options(dry_run=not confirm))
    context.update(form=form, report=report, report_lines=report.lines(limit=500))
    if confirm:
        shutil.rmtree(path.parent, ignore_errors=True)
        context["done"] = report.written
        form = ImportForm(initial={"level": form.cleaned_data["level"]})
        context["form"] = form
    else:
        form.data = form.data.copy()
        form.data["upload"] = token
        context["token"] = token
        context["preview"] = _preview(path, form.options(dry_run=True))
        context["problems"] = [
            {"lon": p.lon, "lat": p.lat, "text": str(p)}
            for p in report.problems
            if p.lon is not None
        ][:500]
    return render(request, "admin/gridmap/import.html", context)
