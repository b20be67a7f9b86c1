from typing import Any

from django import forms

from integrations.tokens import DEFAULT_SCOPES, SCOPES, scopes_allowed


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, such as 'HubSpot sync'.")
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        initial=list(DEFAULT_SCOPES),
        help_text="What the token may do, within what your role allows.",
        error_messages={"required": "Choose at least one scope."},
    )

    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[("", "Never (until revoked)"), (30, "In 30 days"), (90, "In 90 days"), (365, "In a year")],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="A token that expires stops working by itself; a new one can be made at any time.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the scopes this user may give; any other value posted is refused as not a choice.
        self.fields["scopes"].choices = [
            (scope, f"{scope}: {SCOPES[scope]}") for scope in scopes_allowed(user)
        ]
