from django.urls import path

from . import pages

urlpatterns = [
    path("inbox/", pages.inbox, name="inbox-page"),
    path("field/", pages.field, name="field-page"),
]
