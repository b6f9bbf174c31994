from django.contrib import admin

from .models import ScoreWeights


@admin.register(ScoreWeights)
class ScoreWeightsAdmin(admin.ModelAdmin):
    """Weights per unit kind; saving checks that a perfect unit scores 100."""

    list_display = ("kind", "note", "updated_at")
