"""The lists inside SLA sections (glossary terms, ICP criteria, rejection reasons, questions) are edited
as rows of a formset; this is the formset they share."""

from __future__ import annotations

from django import forms
from django.forms import BaseFormSet, formset_factory

from agreements.clauses.kit import MAX_LIST


class RowFormSet(BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        # Row fields sit under their column's heading, which is no label: each names itself ("Code, row 2").
        for name, field in form.fields.items():
            field.widget.attrs.setdefault("aria-label", f"{form[name].label}, row {(index or 0) + 1}")


def rows_of(form: type[forms.Form]) -> type[BaseFormSet]:
    """A formset of `form` rows: one blank row to add with, each deletable, at most MAX_LIST."""
    return formset_factory(
        form, RowFormSet, extra=1, can_delete=True, max_num=MAX_LIST, absolute_max=MAX_LIST
    )
