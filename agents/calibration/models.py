"""Calibrators: how an agent's stated confidence on a field maps to how often it is right."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Calibrator(models.Model):
    """One fitted version of the map from an agent's confidence to its observed accuracy, for
    one agent, agent version and field. Rows are never changed: a refit adds a new version.

    `parameters` holds all a calibrator needs to be applied, as plain JSON (no pickles):
    isotonic {"x": [...], "y": [...]} for numpy.interp; platt {"a", "b"} for
    sigmoid(a * logit(confidence) + b). See agents.calibration.fitting.
    """

    class Method(models.TextChoices):
        ISOTONIC = "isotonic", "Isotonic regression"
        PLATT = "platt", "Platt scaling (logistic on the logit)"

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="calibrators")
    agent_version = models.CharField(max_length=80, blank=True)
    field_name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    method = models.CharField(max_length=10, choices=Method)
    parameters = models.JSONField()
    n_labels = models.PositiveIntegerField()
    n_correct = models.PositiveIntegerField()
    # Measured on out-of-fold predictions (k-fold cross-validation), never on the fitting data.
    ece_before = models.FloatField()
    ece_after = models.FloatField()
    brier_before = models.FloatField()
    brier_after = models.FloatField()
    # The raw confidence does not tell right from wrong (AUC near 0.5; see fitting.informative).
    uninformative = models.BooleanField(default=False)
    # Reliability diagrams, AUC and how the metrics were measured: what the report shows.
    report = models.JSONField(default=dict)
    fitted_at = models.DateTimeField()

    class Meta:
        ordering = ["agent", "agent_version", "field_name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "agent_version", "field_name", "version"],
                name="calibrator_unique_version",
            ),
            models.CheckConstraint(
                condition=Q(n_correct__lte=models.F("n_labels")), name="calibrator_counts"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.method} calibrator v{self.version} of agent {self.agent_id} "
            f"{self.agent_version or '(no version)'} / {self.field_name}"
        )
