from __future__ import annotations

from django import forms

from slaportal.models import TIME_ZONES


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        help_text="Every time SLA Portal shows you is in this zone, and says which zone it is.",
    )

    def __init__(self, *args, sla_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", f"The SLA's business calendar ({sla_zone})")] + [
            (zone, zone.replace("_", " ")) for zone in TIME_ZONES
        ]
        self.fields["time_zone"].error_messages["invalid_choice"] = "Choose a time zone from the list."
