"""Print the calibration report of agents: per agent version and field, how far the stated
confidence is from the observed accuracy, and what the latest calibrator makes of it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.calibration import selectors, services
from agents.models import Agent


class Command(BaseCommand):
    help = (
        "Calibration report per agent, agent version and field: labels, ECE and Brier of the "
        "agent's own confidence, AUC, and the latest calibrator's cross-validated ECE/Brier."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agent", help="Only this agent (slug).")
        parser.add_argument(
            "--refit",
            action="store_true",
            help="First fit a new calibrator wherever one is due (audited), as the task does.",
        )
        parser.add_argument(
            "--bins", action="store_true", help="Also print each reliability diagram."
        )

    def handle(self, *args: Any, agent: str | None, refit: bool, bins: bool, **options: Any):
        agents = Agent.objects.order_by("slug")
        if agent:
            agents = agents.filter(slug=agent)
            if not agents.exists():
                raise CommandError(f"no agent {agent!r}")
        for a in agents:
            if refit:
                fitted = services.calibrations_refit(agent_id=a.pk)
                self.stdout.write(f"{a.slug}: fitted {len(fitted)} calibrators")
            self.report(a, bins=bins)

    def report(self, agent: Agent, *, bins: bool) -> None:
        rows = selectors.calibration_report(agent.pk)
        self.stdout.write(f"\n{agent.slug}")
        if not rows:
            self.stdout.write("  no labels yet")
            return
        header = (
            f"  {'version':<10} {'field':<22} {'labels':>6} {'right':>6} {'ECE':>6} "
            f"{'Brier':>6}  {'AUC [95%]':<19} calibrator"
        )
        self.stdout.write(header)
        for r in rows:
            auc = "—" if r.auc is None else f"{r.auc.value:.2f} [{r.auc.low:.2f}, {r.auc.high:.2f}]"
            self.stdout.write(
                f"  {r.agent_version or '-':<10} {r.field_name:<22} {r.n_labels:>6} "
                f"{r.n_correct / r.n_labels:>6.1%} {r.ece:>6.3f} {r.brier:>6.3f}  {auc:<19} "
                f"{self.calibrator_text(r)}"
                + (
                    "  UNINFORMATIVE: confidence does not tell right from wrong"
                    if r.uninformative
                    else ""
                )
            )
            if bins:
                for b in r.reliability:
                    if b.count:
                        self.stdout.write(
                            f"      [{b.low:.1f}, {b.high:.1f}) n={b.count:<5} "
                            f"confidence {b.mean_confidence:.3f}  accuracy {b.accuracy:.3f}"
                        )

    @staticmethod
    def calibrator_text(r: selectors.FieldReport) -> str:
        c = r.calibrator
        if c is None:
            return r.note or f"none yet ({r.method} is due at the next refit)"
        return (
            f"v{c.version} {c.method} on {c.n_labels} labels: ECE {c.ece_before:.3f} -> "
            f"{c.ece_after:.3f}, Brier {c.brier_before:.3f} -> {c.brier_after:.3f} "
            f"({c.report.get('evaluation', 'cross-validated')})"
        )
