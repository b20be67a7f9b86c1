"""The lists inside SLA sections (glossary terms, ICP criteria, rejection reasons, questions) are edited
as rows of a formset: the formset they share and the row forms.

A column's help text is shown once, above the rows (`column_help`), and every row's field points to it
with aria-describedby; a row added in the browser is a copy of the formset's empty form (editor.js), so
the empty form's labels carry `__row__` where the row's number goes.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms import BaseFormSet, BoundField, formset_factory

from agreements.clauses import feedback, handoff, icp, terms
from agreements.clauses.kit import CODE_MAX, MAX_LIST, MAX_TEXT

ROW_PLACEHOLDER = "__row__"


def column_help_id(formset_prefix: str, name: str) -> str:
    return f"{formset_prefix}-{name}-help"


class RowBoundField(BoundField):
    @property
    def aria_describedby(self) -> str:
        # The row's prefix is "<formset>-<index>" (or "<formset>-__prefix__" in the empty form).
        formset_prefix = (self.form.prefix or "").rsplit("-", 1)[0]
        ids = [column_help_id(formset_prefix, self.name)] if self.help_text else []
        if self.errors:
            ids.append(f"{self.auto_id}_error")
        return " ".join(ids)


class RowForm(forms.Form):
    bound_field_class = RowBoundField


class RowFormSet(BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        # Row fields sit under their column's heading, which is no label: each names itself ("Code, row 2").
        number = ROW_PLACEHOLDER if index is None else str(index + 1)
        for name, field in form.fields.items():
            field.widget.attrs.setdefault("aria-label", f"{form[name].label}, row {number}")

    def column_help(self) -> list[tuple[str, str, str]]:
        """(id, column label, help text) for each column that has help."""
        form = self.empty_form
        return [
            (column_help_id(self.prefix, name), str(form[name].label), str(field.help_text))
            for name, field in form.fields.items()
            if field.help_text
        ]


def rows_of(form: type[forms.Form]) -> type[BaseFormSet]:
    """A formset of `form` rows: one blank row to fill without JavaScript (editor.js adds more on
    request), each deletable, at most MAX_LIST."""
    return formset_factory(
        form, RowFormSet, extra=1, can_delete=True, max_num=MAX_LIST, absolute_max=MAX_LIST
    )


def _number_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# "50 - 200", "50..200", "50 to 200", "1 000 – 5 000"
_RANGE = re.compile(r"^\s*(.+?)\s*(?:\.\.|–|—|-|\bto\b)\s*(.+?)\s*$")


def _parse_number(text: str) -> float | int:
    cleaned = text.replace(" ", "").replace("_", "").replace("\u00a0", "")
    number = float(cleaned)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return int(number) if number.is_integer() else number


# Row selects start empty, so an untouched "add another" row is not mistaken for a filled one.
BLANK = [("", "—")]


class GlossaryRow(RowForm):
    term = forms.CharField(max_length=terms.GLOSSARY_TERM_MAX)
    definition = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))


class CriterionRow(RowForm):
    field = forms.ChoiceField(
        choices=BLANK + [(k, label.capitalize()) for k, (label, _) in icp.ICP_FIELDS.items()]
    )
    op = forms.ChoiceField(label="Operator", choices=BLANK + list(icp.OPERATORS.items()))
    value = forms.CharField(
        max_length=MAX_TEXT,
        help_text="A number; two numbers for between (50 - 200); a comma-separated list for in / not in.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        op, text = data.get("op"), data.get("value")
        if op is None or text is None:
            return data
        try:
            if op in ("gte", "lte"):
                data["parsed"] = _parse_number(text)
            elif op == "between":
                match = _RANGE.match(text)
                if not match:
                    raise ValueError(text)
                data["parsed"] = [_parse_number(match.group(1)), _parse_number(match.group(2))]
            else:
                data["parsed"] = [item.strip() for item in text.split(",") if item.strip()]
        except ValueError:
            expected = "two numbers, such as 50 - 200" if op == "between" else "a number"
            self.add_error("value", f"Enter {expected}.")
        return data

    @staticmethod
    def value_text(op: str, value: Any) -> str:
        if op == "between":
            return f"{_number_text(value[0])} - {_number_text(value[1])}"
        if op in icp.NUMBER_OPERATORS:
            return _number_text(value)
        return ", ".join(value)


class RejectionRow(RowForm):
    code = forms.CharField(max_length=CODE_MAX)
    label = forms.CharField(max_length=handoff.REASON_LABEL_MAX)
    destination = forms.ChoiceField(choices=BLANK + list(handoff.DESTINATIONS.items()))
    recycle_days = forms.IntegerField(
        required=False, help_text="Only when the lead is recycled: the days it waits in nurture first."
    )


class QuestionRow(RowForm):
    code = forms.CharField(max_length=CODE_MAX)
    text = forms.CharField(max_length=feedback.QUESTION_TEXT_MAX)
