"""Forms for the lead pages. They only parse input; the rules are in leads.services."""

from __future__ import annotations

from typing import Any

from django import forms

from leads import limits
from leads.models import Lead, Temperature
from leads.selectors import DEFAULT_SORT, SORTS, available_reps


class LeadFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(choices=[("", "Any status"), *Lead.Status.choices], required=False)
    marketing_temperature = forms.ChoiceField(
        label="Temperature", choices=[("", "Any temperature"), *Temperature.choices], required=False
    )
    icp_fit = forms.TypedChoiceField(
        label="ICP fit",
        choices=[("", "Fit or not"), ("yes", "Fits the ICP"), ("no", "Does not fit")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
    )
    owner = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False)
    # The column headers' links set it too (a phone shows no headers: there it is this field alone).
    sort = forms.ChoiceField(label="Sort by", required=False)

    def __init__(self, *args: Any, owners: list[str] | None, sources: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        if owners is None:  # a rep's own history: one owner, or nobody since they handed it back
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = [
                ("", "Any owner"),
                ("none", "Unassigned"),
                *[(u, u) for u in owners],
            ]
        self.fields["source"].choices = [("", "Any source"), *[(s, s) for s in sources]]
        # The default first, so a list with no sort chosen shows it.
        choices = [
            (f"{way}{key}", words)
            for key, pair in SORT_LABELS.items()
            for way, words in zip(("", "-"), pair, strict=True)
        ]
        self.fields["sort"].choices = sorted(choices, key=lambda choice: choice[0] != DEFAULT_SORT)
        self.fields["sort"].error_messages["invalid_choice"] = "Sort by one of the table's columns."


# Each sort key's words, rising then falling.
SORT_LABELS = {
    "name": ("Lead name, A to Z", "Lead name, Z to A"),
    "company": ("Company, A to Z", "Company, Z to A"),
    "status": ("Status, nurture to closed", "Status, closed to nurture"),
    "temperature": ("Temperature, cold first", "Temperature, hot first"),
    "owner": ("Owner, A to Z", "Owner, Z to A"),
    "deadline": ("Pickup deadline, soonest first", "Pickup deadline, latest first"),
    "updated": ("Last update, oldest first", "Last update, newest first"),
}
assert set(SORT_LABELS) == set(SORTS)


class BulkReassignForm(forms.Form):
    leads = forms.TypedMultipleChoiceField(
        coerce=int,
        error_messages={"required": "Tick the leads to reassign first."},
    )
    owner = forms.ChoiceField(label="Give the ticked leads to")

    def __init__(self, *args: Any, reps: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(r.username, r.username) for r in reps]

    def clean_leads(self) -> list[int]:
        return self.cleaned_data["leads"][: limits.BULK_REASSIGN_MAX]

    def full_clean(self) -> None:
        # The choices are any lead ids: the service checks each lead (and says which it could not move).
        raw = self.data.getlist("leads") if hasattr(self.data, "getlist") else []
        self.fields["leads"].choices = [(v, v) for v in raw if str(v).isdigit() and len(str(v)) < 12]
        super().full_clean()


class RejectForm(forms.Form):
    reason = forms.ChoiceField()
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.REJECT_NOTE_MAX)

    def __init__(self, *args: Any, lead: Lead, **kwargs: Any):
        super().__init__(*args, **kwargs)
        reasons = lead.sla_version.clauses.handoff.rejection_reasons if lead.sla_version else ()
        # Nothing is chosen for the rep: a rejection's reason decides where the lead goes.
        self.fields["reason"].choices = [("", "Choose a reason…")] + [(r.code, r.label) for r in reasons]
        self.fields["reason"].error_messages["required"] = "Choose the reason for rejecting the lead."
        self.fields["note"].label = "Note (required)"
        self.fields["note"].error_messages["required"] = "Say why, in a few words: marketing learns from it."


class QualifyForm(forms.Form):
    product_potential = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    purchase_timeframe_months = forms.IntegerField(
        label="Purchase timeframe (months)", min_value=0, max_value=limits.PURCHASE_MONTHS_MAX
    )


class CloseForm(forms.Form):
    # No outcome is picked for the rep, and closing is confirmed: it takes the lead out of the pipeline.
    outcome = forms.ChoiceField(choices=[("won", "Won"), ("lost", "Lost")], widget=forms.RadioSelect)
    confirm = forms.BooleanField(
        label="I am sure: a closed lead leaves the pipeline.",
        error_messages={"required": "Tick the box to confirm."},
    )


class ReassignForm(forms.Form):
    owner = forms.ChoiceField(label="New owner")

    def __init__(self, *args: Any, lead: Lead, reps: list[Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        reps = reps if reps is not None else list(available_reps(lead.agreement))
        self.fields["owner"].choices = [(r.username, r.username) for r in reps if r.pk != lead.owner_id]


class FeedbackForm(forms.Form):
    def __init__(self, *args: Any, lead: Lead, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for question in lead.sla_version.clauses.feedback.questions if lead.sla_version else ():
            self.fields[question.code] = forms.CharField(
                label=question.text,
                required=False,
                max_length=limits.FEEDBACK_ANSWER_MAX,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
