"""Evaluation settings kept in the database: the score weights per unit kind.

Campaigns (专项) are ``cases.Campaign`` (a case carries its campaign tag); evaluation reads them.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .units import KINDS, LABELS


class ScoreWeights(models.Model):
    """The composite-score weights of one unit kind, overriding the defaults of
    ``evaluation/scores.py``. ``config``: ``{"volume_max": 10, "volume_bands": [[50, 10], …],
    "weights": {"closure_rate": 0.3, …}}``; a perfect unit must score exactly 100."""

    kind = models.CharField(max_length=20, unique=True, choices=[(k, LABELS[k]) for k in KINDS])
    config = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("score weights")
        verbose_name_plural = _("score weights")
        ordering = ["kind"]

    def __str__(self) -> str:
        return str(LABELS.get(self.kind, self.kind))

    def clean(self) -> None:
        from .scores import WeightsError, weights_check

        try:
            weights_check(self.kind, self.config)
        except WeightsError as exc:
            raise ValidationError({"config": str(exc)}) from None
