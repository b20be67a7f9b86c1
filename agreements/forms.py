"""The small forms of the SLA pages: sending a version back to draft, and choosing versions to compare.
The section editors are in agreements/editors.py."""

from __future__ import annotations

from django import forms


class ReturnToDraftForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What needs to change?"
    )


class CompareForm(forms.Form):
    a = forms.IntegerField(min_value=1, label="Compare")
    b = forms.IntegerField(min_value=1, label="with")
