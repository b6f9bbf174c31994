from django.urls import path

from . import pages

urlpatterns = [
    path("inbox/", pages.inbox, name="inbox-page"),
    path("field/", pages.field, name="field-page"),
    path("console/", pages.console, name="console-page"),
    path("console/screen/", pages.big_screen, name="big-screen"),
    path("community/<str:code>/", pages.community, name="community-page"),
]
