"""The small forms of the SLA pages: sending a version back to draft, signing it, and choosing versions
to compare. The section editors are in agreements/editors.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from agreements.models import AgreementVersion

Status = AgreementVersion.Status


class ReturnToDraftForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What needs to change?"
    )


class SignForm(forms.Form):
    """A signature is a deliberate act: the approver confirms having read the version, for one side.
    The fields keep plain names (one form per side on the page), so each form gets its own ids."""

    side = forms.CharField(widget=forms.HiddenInput, max_length=20)
    confirm = forms.BooleanField()

    def __init__(self, *args: Any, version: AgreementVersion, side: str, **kwargs: Any):
        kwargs.setdefault("auto_id", f"id_sign_{side}_%s")
        kwargs.setdefault("initial", {"side": side})
        super().__init__(*args, **kwargs)
        self.side = side
        name = f"{version.agreement.name} {version.label}"
        self.fields["confirm"].label = f"I have read {name} and sign for {side}."
        self.fields["confirm"].error_messages["required"] = (
            f"Tick the box to confirm you have read {version.label} before signing for {side}."
        )


def _day(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%-d %b %Y") if value else "?"


def version_choice_label(version: AgreementVersion) -> str:
    """ "v2 · draft, started 30 Nov 2026", "v1 · in force since 29 Nov 2025" """
    if version.status == Status.ACTIVE:
        state = f"in force since {_day(version.effective_from)}"
    elif version.status == Status.SUPERSEDED:
        state = f"was in force {_day(version.effective_from)} – {_day(version.effective_until)}"
    elif version.status == Status.IN_REVIEW:
        state = "in review"
    else:
        state = f"draft, started {_day(version.created_at)}"
    return f"{version.label} · {state}"


class CompareForm(forms.Form):
    a = forms.TypedChoiceField(coerce=int, label="Compare")
    b = forms.TypedChoiceField(coerce=int, label="with")

    def __init__(self, *args: Any, versions: Iterable[AgreementVersion], **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(v.number, version_choice_label(v)) for v in versions]
        self.fields["a"].choices = choices
        self.fields["b"].choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("a") is not None and data.get("a") == data.get("b"):
            self.add_error("b", "Choose two different versions.")
        return data
