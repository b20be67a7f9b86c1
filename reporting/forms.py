from __future__ import annotations

from typing import Any

from django import forms

from agreements.models import Agreement, Team


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(required=False)
    agreement = forms.ModelChoiceField(
        queryset=Agreement.objects.none(), required=False, empty_label="All agreements"
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")

    def __init__(self, *args: Any, periods: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = periods
        self.fields["agreement"].queryset = Agreement.objects.order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("name")
