from django.apps import AppConfig


class AccountabilityConfig(AppConfig):
    name = "accountability"
    verbose_name = "Accountability (audit trail)"
