from django.urls import path

from . import api

urlpatterns = [
    path(
        "cases/<int:pk>/recommendation",
        api.RecommendationView.as_view(),
        name="case-recommendation",
    ),
]
