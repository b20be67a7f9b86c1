"""What SLA Portal keeps for each person, whatever their role: their preferences and their notices."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.db import models

# Every zone the machine's tz database knows, for the settings page's choice.
TIME_ZONES = sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")


class Preferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    # Blank: the zone of the SLA's business calendar, which is where deadlines are counted.
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'the SLA calendar zone'}"


class Notice(models.Model):
    """Something a person must hear of in SLA Portal (its e-mail twin goes through the outbox)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notice_unread_idx")]

    def __str__(self) -> str:
        return self.text
