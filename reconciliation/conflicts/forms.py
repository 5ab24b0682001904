"""The decision form: which way, the typed value (shaped by the field's type), the comment."""
from __future__ import annotations

from django import forms

from mapping.types import FieldType
from reconciliation.conflicts.models import Choice
from reconciliation.conflicts.services import comment_required
from reconciliation.conflicts.values import conflict_currency, field_rule


class CommentForm(forms.Form):
    """A comment typed on a conflict page or a bulk decision: what any text field refuses, this refuses (NUL
    characters); who may comment and how long a comment may be are the service's rules."""

    text = forms.CharField(required=False, error_messages={
        "null_characters_not_allowed": "A comment cannot contain a NUL character."})


class DecisionForm(forms.Form):
    choice = forms.ChoiceField(choices=Choice.choices, widget=forms.HiddenInput)
    value = forms.CharField(required=False, label="Value", max_length=100_000)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Comment")

    def __init__(self, *args, conflict, **kwargs):
        super().__init__(*args, **kwargs)
        rule = field_rule(conflict)
        field_type = rule.field_type if rule else FieldType.TEXT
        options = (rule.validation or {}).get("choices") if rule else None
        if field_type == FieldType.CHOICE and options:
            self.fields["value"].widget = forms.Select(choices=[("", "— empty —")] + [(o, o) for o in options])
        elif field_type == FieldType.BOOLEAN:
            self.fields["value"].widget = forms.Select(choices=[("", "— empty —"), ("yes", "yes"), ("no", "no")])
        elif field_type == FieldType.DATE:
            self.fields["value"].widget = forms.DateInput(attrs={"type": "date"})
        elif field_type == FieldType.MONEY:
            currency = conflict_currency(conflict) or "USD"
            self.fields["value"].widget.attrs["placeholder"] = f"12.50 {currency}"
            self.fields["value"].help_text = f"An amount; {currency} unless you name another currency."
        self.fields["value"].widget.attrs["id"] = "id_value"
        if comment_required(conflict):
            self.fields["comment"].widget.attrs["required"] = "required"
            self.fields["comment"].help_text = "Required for a finance field: say why."
