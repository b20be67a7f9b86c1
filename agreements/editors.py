"""Browser editors for the SLA's sections, one per section (EDITORS).

The forms only turn what was typed into the section's JSON (numbers, lists); the rules of the SLA are
checked once, in agreements.clauses, and their errors are put back on the field they name. Choices,
limits and field lists come from the section modules there, so an editor and its parser cannot drift.

The editors stay here rather than beside their sections: the clauses package is pure Python that
evaluation and models import, while an editor needs Django forms, the user table and AgreementSection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib.auth import get_user_model
from django.forms import BaseFormSet, BoundField
from django.utils.text import capfirst

from agreements.clauses import goals, handoff, icp, reporting, temperature
from agreements.clauses.kit import MAX_TEXT, TEMPERATURES
from agreements.models import AgreementSection
from agreements.rows import CriterionRow, GlossaryRow, QuestionRow, RejectionRow, rows_of

PROSE_FIELD = {
    "prose": forms.CharField(
        label="Prose (Markdown)",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
}


def _prose_form(name: str, fields: dict[str, forms.Field]) -> type[forms.Form]:
    return type(name, (forms.Form,), {**fields, **PROSE_FIELD})


@dataclass(frozen=True)
class ErrorItem:
    """One line of the error summary above a form that did not save."""

    target: str  # the id of the element to go to; "" for an error about the whole section
    where: str
    message: str


def _target(field: BoundField) -> str:
    # A list of checkboxes has no element of its own to land on: its first box is where to start.
    if isinstance(field.field.widget, forms.RadioSelect):
        return f"{field.auto_id}_0"
    return field.auto_id


def _rows_title(name: str) -> str:
    return capfirst(name.replace("_", " "))


# ---------------------------------------------------------------------------------------------------------
# Section editors


class SectionEditor:
    """A section's form plus its list formsets; builds the section JSON and shows clause errors in place."""

    key: ClassVar[str]
    form_class: ClassVar[type[forms.Form]]
    formset_classes: ClassVar[dict[str, type[BaseFormSet]]] = {}

    def __init__(self, section: AgreementSection, data: Any = None):
        self.section = section
        initial, rows = self.initial(section.data or {})
        initial["prose"] = section.prose
        self.form = self.form_class(data, initial=initial, **self.form_kwargs(section.data or {}))
        self.formsets = {
            name: cls(data, initial=rows.get(name, []), prefix=name)
            for name, cls in self.formset_classes.items()
        }

    # subclass hooks
    def form_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        return {}

    def initial(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        raise NotImplementedError

    def build(self, cleaned: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        raise NotImplementedError

    # shared machinery
    def _row_forms(self, name: str) -> list[forms.Form]:
        # Blank extra rows and rows marked for deletion are not part of the section.
        return [f for f in self.formsets[name].forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def is_valid(self) -> bool:
        results = [self.form.is_valid()] + [fs.is_valid() for fs in self.formsets.values()]
        return all(results)

    @property
    def prose(self) -> str:
        return self.form.cleaned_data.get("prose", "")

    def to_data(self) -> dict[str, Any]:
        rows = {name: [f.cleaned_data for f in self._row_forms(name)] for name in self.formsets}
        return self.build(self.form.cleaned_data, rows)

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        for path, messages in errors.items():
            parts = path.split(".") if path else []
            for message in messages:
                self._apply_error(parts, message, path)

    def _apply_error(self, parts: list[str], message: str, path: str) -> None:
        if parts and parts[0] in self.formsets:
            row_forms = self._row_forms(parts[0])
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(row_forms):
                row = row_forms[int(parts[1])]
                field = parts[2] if len(parts) > 2 and parts[2] in row.fields else None
                row.add_error(field, message)
            else:
                self.formsets[parts[0]].non_form_errors().append(message)
            return
        for candidate in ("_".join(parts), parts[0] if parts else ""):
            if candidate and candidate in self.form.fields:
                self.form.add_error(candidate, message)
                return
        where = path.replace("_", " ").replace(".", " ").strip()
        self.form.add_error(None, f"{where.capitalize()}: {message}" if where else message)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors) or any(
            fs.total_error_count() for fs in self.formsets.values() if fs.is_bound
        )

    def error_items(self) -> list[ErrorItem]:
        """Every error of the form and its rows, in page order, each pointing at its field."""
        if not self.form.is_bound:
            return []
        items = [ErrorItem("", "", str(m)) for m in self.form.non_field_errors()]
        fields = sorted(self.form, key=lambda f: not f.name.startswith("rule_"))  # the grid comes first
        items += [ErrorItem(_target(f), capfirst(str(f.label)), str(m)) for f in fields for m in f.errors]
        for name, formset in self.formsets.items():
            title = _rows_title(name)
            items += [ErrorItem(f"rows-{name}", title, str(m)) for m in formset.non_form_errors()]
            for number, row in enumerate(formset.forms, start=1):
                if not row.errors:
                    continue
                first = next(iter(row), None)
                where = f"{title}, row {number}"
                items += [
                    ErrorItem(_target(first) if first else "", where, str(m)) for m in row.non_field_errors()
                ]
                items += [
                    ErrorItem(_target(f), f"{where}, {capfirst(str(f.label))}", str(m))
                    for f in row
                    for m in f.errors
                ]
        return items


class TermsEditor(SectionEditor):
    key = "terms"
    form_class = _prose_form(
        "TermsForm",
        {
            "marketing_lead_definition": forms.CharField(
                label="Marketing's definition of a lead",
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
            ),
            "sales_lead_definition": forms.CharField(
                label="Sales' definition of a lead",
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
            ),
        },
    )
    formset_classes = {"glossary": rows_of(GlossaryRow)}

    def initial(self, data):
        fields = {k: data.get(k, "") for k in ("marketing_lead_definition", "sales_lead_definition")}
        return fields, {"glossary": data.get("glossary", [])}

    def build(self, cleaned, rows):
        return {
            "marketing_lead_definition": cleaned["marketing_lead_definition"],
            "sales_lead_definition": cleaned["sales_lead_definition"],
            "glossary": [{"term": r["term"], "definition": r["definition"]} for r in rows["glossary"]],
        }


class IcpEditor(SectionEditor):
    key = "icp"
    form_class = _prose_form("IcpForm", {})
    formset_classes = {"criteria": rows_of(CriterionRow)}

    def initial(self, data):
        criteria = [
            {
                "field": c.get("field"),
                "op": c.get("op"),
                "value": CriterionRow.value_text(c["op"], c["value"]),
            }
            for c in data.get("criteria", [])
            if c.get("op") in icp.OPERATORS and "value" in c
        ]
        return {}, {"criteria": criteria}

    def build(self, cleaned, rows):
        return {
            "criteria": [{"field": r["field"], "op": r["op"], "value": r["parsed"]} for r in rows["criteria"]]
        }


class TemperatureForm(forms.Form):
    activity_types = forms.CharField(
        label="Engagement activity types",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One code per line, such as webinar_attendance. A new type gets its row below once saved.",
    )
    window_days = forms.IntegerField(label="Window (days)", help_text="Older activities do not count.")
    owner = forms.ChoiceField(label="Who owns the classification", choices=list(temperature.SIDES.items()))
    sales_hot_below_months = forms.IntegerField(label="Sales: hot when buying within less than (months)")
    sales_warm_up_to_months = forms.IntegerField(label="Sales: warm up to (months); colder beyond")
    prose = PROSE_FIELD["prose"]

    def __init__(self, *args: Any, activity_types: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.grid = []
        for activity in activity_types:
            row = []
            for level in TEMPERATURES:
                name = f"rule_{level}_{activity}"
                label = f"{level} {temperature.activity_label(activity)}"
                # The grid's cells have no <label>: their row and column name them.
                self.fields[name] = forms.IntegerField(
                    required=False, min_value=0, label=label, widget=forms.NumberInput({"aria-label": label})
                )
                row.append(name)
            self.grid.append((temperature.activity_label(activity), row))

    def grid_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(label, [self[name] for name in names]) for label, names in self.grid]


class TemperatureEditor(SectionEditor):
    key = "temperature"
    form_class = TemperatureForm

    def form_kwargs(self, data):
        types = data.get("activity_types") or []
        return {"activity_types": [t for t in types if isinstance(t, str)]}

    def initial(self, data):
        fields = {
            "activity_types": "\n".join(t for t in data.get("activity_types", []) if isinstance(t, str)),
            "window_days": data.get("window_days"),
            "owner": data.get("owner"),
            "sales_hot_below_months": data.get("sales_hot_below_months"),
            "sales_warm_up_to_months": data.get("sales_warm_up_to_months"),
        }
        for level, requirement in (data.get("marketing_rules") or {}).items():
            for activity, count in (requirement or {}).items():
                fields[f"rule_{level}_{activity}"] = count
        return fields, {}

    def build(self, cleaned, rows):
        types = [t.strip() for t in re.split(r"[\s,]+", cleaned["activity_types"]) if t.strip()]
        rules: dict[str, dict[str, int]] = {level: {} for level in TEMPERATURES}
        for name, value in cleaned.items():
            if name.startswith("rule_") and value:
                _, level, activity = name.split("_", 2)
                rules[level][activity] = value
        return {
            "activity_types": types,
            "window_days": cleaned["window_days"],
            "owner": cleaned["owner"],
            "marketing_rules": rules,
            "sales_hot_below_months": cleaned["sales_hot_below_months"],
            "sales_warm_up_to_months": cleaned["sales_warm_up_to_months"],
        }


class GoalsEditor(SectionEditor):
    key = "goals"
    form_class = _prose_form(
        "GoalsForm",
        {
            "mqls_icp_per_month": forms.IntegerField(label="Marketing: ICP-fit MQLs per month"),
            "touches_per_account_per_month": forms.IntegerField(
                label="Marketing: touches per account per month"
            ),
            "pickup_within_sla_pct": forms.DecimalField(label="Sales: % picked up within the deadline"),
            "acceptance_rate_pct": forms.DecimalField(label="Sales: % of handed-off leads accepted"),
            "deals_won_per_month": forms.IntegerField(label="Sales: deals won per month"),
        },
    )

    def initial(self, data):
        return {k: data.get(k) for k in goals.FIELDS}, {}

    def build(self, cleaned, rows):
        out = {k: cleaned[k] for k in goals.FIELDS}
        for k in goals.PERCENT_FIELDS:
            out[k] = float(out[k]) if out[k] is not None else None
        return out


def _timezone_choices() -> list[tuple[str, str]]:
    return [(tz, tz) for tz in sorted(handoff.known_timezones())]


def _country_choices() -> list[tuple[str, str]]:
    return [("", "No public holidays")] + [(c, c) for c in sorted(handoff.supported_holiday_countries())]


class HandoffForm(forms.Form):
    mql_threshold = forms.ChoiceField(
        label="A lead is an MQL from this marketing temperature", choices=[(t, t) for t in TEMPERATURES]
    )
    icp_fit_required = forms.BooleanField(label="Only ICP-fit MQLs are handed off", required=False)
    pickup_hours_hot = forms.DecimalField(label="Pickup deadline, hot (business hours)", required=False)
    pickup_hours_warm = forms.DecimalField(
        label="Pickup deadline, warm (business hours)",
        required=False,
        help_text="Only when warm leads are handed off: the MQL temperature above is cold or warm.",
    )
    pickup_hours_cold = forms.DecimalField(
        label="Pickup deadline, cold (business hours)",
        required=False,
        help_text="Only when cold leads are handed off: the MQL temperature above is cold.",
    )
    timezone = forms.ChoiceField(choices=_timezone_choices)
    working_days = forms.TypedMultipleChoiceField(
        choices=list(enumerate(handoff.WEEKDAYS)), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    workday_start = forms.TimeField(label="Working day starts (HH:MM)")
    workday_end = forms.TimeField(label="Working day ends (HH:MM)")
    holiday_country = forms.ChoiceField(label="Public holidays of", choices=_country_choices, required=False)
    holiday_subdivision = forms.CharField(label="Region (optional)", max_length=10, required=False)
    escalation_notify_manager = forms.BooleanField(
        label="On a missed deadline, notify the sales manager", required=False
    )
    escalation_reassign = forms.BooleanField(
        label="On a missed deadline, reassign to another rep", required=False
    )
    nurture_owner = forms.CharField(label="Who nurtures leads", max_length=handoff.NURTURE_OWNER_MAX)
    prose = PROSE_FIELD["prose"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The clauses keep deadlines only for the temperatures that are handed off; a deadline typed for a
        # cooler one would vanish on save, so it is refused here, saying why.
        threshold = data.get("mql_threshold")
        if threshold in TEMPERATURES:
            for level in TEMPERATURES[: TEMPERATURES.index(threshold)]:
                if data.get(f"pickup_hours_{level}") is not None:
                    self.add_error(
                        f"pickup_hours_{level}",
                        f"{level.capitalize()} leads are not handed off (MQLs start at {threshold}), so they "
                        f"have no pickup deadline. Leave this empty, or make {level} leads MQLs above.",
                    )
        return data


class HandoffEditor(SectionEditor):
    key = "handoff"
    form_class = HandoffForm
    formset_classes = {"rejection_reasons": rows_of(RejectionRow)}
    _PLAIN = (
        "mql_threshold",
        "icp_fit_required",
        *handoff.CALENDAR_KEYS,
        "escalation_notify_manager",
        "escalation_reassign",
        "nurture_owner",
    )

    def initial(self, data):
        fields = {k: data.get(k) for k in self._PLAIN}
        for level, hours in (data.get("pickup_hours") or {}).items():
            fields[f"pickup_hours_{level}"] = hours
        return fields, {"rejection_reasons": data.get("rejection_reasons", [])}

    def build(self, cleaned, rows):
        out = {k: cleaned[k] for k in self._PLAIN}
        out["workday_start"] = cleaned["workday_start"].strftime("%H:%M")
        out["workday_end"] = cleaned["workday_end"].strftime("%H:%M")
        out["assignment"] = handoff.ASSIGNMENT
        out["pickup_hours"] = {
            level: float(cleaned[f"pickup_hours_{level}"])
            for level in TEMPERATURES
            if cleaned.get(f"pickup_hours_{level}") is not None
        }
        out["rejection_reasons"] = [
            {
                "code": r["code"],
                "label": r["label"],
                "destination": r["destination"],
                "recycle_days": r["recycle_days"],
            }
            for r in rows["rejection_reasons"]
        ]
        return out


class ReportingForm(forms.Form):
    cadence = forms.ChoiceField(choices=list(reporting.CADENCES.items()))
    recipients = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    prose = PROSE_FIELD["prose"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["recipients"].choices = [(u.username, u.get_full_name() or u.username) for u in users]


class ReportingEditor(SectionEditor):
    key = "reporting"
    form_class = ReportingForm

    def initial(self, data):
        return {"cadence": data.get("cadence"), "recipients": data.get("recipients", [])}, {}

    def build(self, cleaned, rows):
        return {"cadence": cleaned["cadence"], "recipients": cleaned["recipients"]}


class FeedbackEditor(SectionEditor):
    key = "feedback"
    form_class = _prose_form("FeedbackForm", {})
    formset_classes = {"questions": rows_of(QuestionRow)}

    def initial(self, data):
        return {}, {"questions": data.get("questions", [])}

    def build(self, cleaned, rows):
        return {"questions": [{"code": r["code"], "text": r["text"]} for r in rows["questions"]]}


EDITORS: dict[str, type[SectionEditor]] = {
    editor.key: editor
    for editor in (
        TermsEditor,
        IcpEditor,
        TemperatureEditor,
        GoalsEditor,
        HandoffEditor,
        ReportingEditor,
        FeedbackEditor,
    )
}
