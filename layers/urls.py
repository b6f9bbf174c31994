from django.urls import path

from . import api

urlpatterns = [
    path("layers", api.LayerListView.as_view(), name="layer-list"),
    path("layers/<slug:name>", api.LayerView.as_view(), name="layer"),
]
