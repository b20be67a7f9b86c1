from __future__ import annotations

from typing import Any

from django import forms

from agreements.models import Agreement, Team


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return f"{obj.name} ({obj.get_department_display().lower()})"


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(required=False)
    agreement = forms.ModelChoiceField(
        queryset=Agreement.objects.none(), required=False, empty_label="All agreements"
    )
    team = TeamChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="All teams",
        help_text="A sales team: its members' leads and steps. A marketing team: its agreements.",
    )

    def __init__(self, *args: Any, periods: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = periods
        self.fields["agreement"].queryset = Agreement.objects.order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("department", "name")
