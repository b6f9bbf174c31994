"""The admin's category import page: upload, read the dry-run report, confirm.

The same service as ``manage.py import_categories`` runs twice: first as a dry run whose report
the administrator reads, then, on "Import", for real on the stored upload. Uploads are kept under
MEDIA_ROOT/imports/categories/ only between the two steps (like the geography import page).
"""

import shutil
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .taxonomy import SUFFIXES, categories_export, categories_import

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
CONTENT_TYPES = {
    "yaml": "application/yaml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class CategoryImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("YAML, or CSV / Excel with one row per time limit (as exported)"),
    )
    replace = forms.BooleanField(
        label=_("Deactivate the categories the file does not list"), required=False
    )
    strict = forms.BooleanField(
        label=_("A department that does not exist is an error"), required=False
    )
    upload = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        if Path(upload.name).suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(
                _("%(name)s: expected a .yaml, .yml, .csv or .xlsx file") % {"name": upload.name}
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("upload"):
            raise forms.ValidationError(_("Choose a file to import."))
        return data


def _upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / "categories"


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


def import_view(request, *, context: dict):
    """Upload → dry run with the report → confirm → import. ``context``: the admin's."""
    template = "admin/cases/category/import.html"
    context = {**context, "title": _("Import case categories")}
    if request.method != "POST":
        return render(request, template, {**context, "form": CategoryImportForm()})
    form = CategoryImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, template, {**context, "form": form})
    confirm = "confirm" in request.POST
    token = form.cleaned_data["upload"] if confirm else _store(form.cleaned_data["file"])
    path = _stored_file(token)
    if path is None:
        form.add_error(None, _("The uploaded file has expired; upload it again."))
        return render(request, template, {**context, "form": form})
    report = categories_import(
        path=path,
        replace=form.cleaned_data["replace"],
        strict=form.cleaned_data["strict"],
        dry_run=not confirm,
    )
    context.update(report=report, report_lines=report.lines(limit=500))
    if confirm:
        shutil.rmtree(path.parent, ignore_errors=True)
        context.update(done=report.written, form=CategoryImportForm())
    else:
        data = form.data.copy()
        data["upload"] = token
        form.data = data
        context.update(form=form, token=token)
    return render(request, template, context)


def export_response(queryset, fmt: str) -> HttpResponse:
    """The categories as a file download (YAML, CSV or XLSX)."""
    response = HttpResponse(
        categories_export(format=fmt, categories=queryset), content_type=CONTENT_TYPES[fmt]
    )
    name = f"categories-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
