"""The form over one dead write's canonical values (what "edit and retry" corrects), each value typed as the write
carried it: text stays text, a number must be a number, a list or an object is edited as JSON."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from integration_hub.sync.models import OutboundChange

PREFIX = "value__"
REASON_CHARS = 2000


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _parsed(original: Any, text: str) -> Any:
    """The typed text as a value of the kind the write carried; ValidationError when it is not one."""
    text = text.strip()
    if isinstance(original, bool):
        if text.lower() not in ("true", "false"):
            raise forms.ValidationError("Type true or false.")
        return text.lower() == "true"
    if isinstance(original, int | float):
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError("Type a number.") from None
        return int(number) if isinstance(original, int) and number == number.to_integral_value() else float(number)
    if isinstance(original, dict | list):
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Type JSON, as shown.") from None
        if not isinstance(value, type(original)):
            raise forms.ValidationError(f"Type a JSON {'object' if isinstance(original, dict) else 'list'}.")
        return value
    return None if original is None and text == "" else text


class ReasonForm(forms.Form):
    """Why a person retries or discards (kept in the records' history)."""

    reason = forms.CharField(required=False, max_length=REASON_CHARS)


class DeadLetterValuesForm(forms.Form):
    reason = forms.CharField(required=False, max_length=REASON_CHARS, widget=forms.TextInput(attrs={"size": 60}),
                             help_text="Kept in the record's history with your name.")

    def __init__(self, *args, row: OutboundChange, **kwargs):
        super().__init__(*args, **kwargs)
        self.row = row
        for name, value in sorted(row.values.items()):
            widget = forms.Textarea(attrs={"rows": 3, "cols": 60}) if isinstance(value, dict | list) else \
                forms.TextInput(attrs={"size": 60})
            self.fields[PREFIX + name] = forms.CharField(label=name, required=False, initial=_shown(value),
                                                        widget=widget, strip=False)

    def value_fields(self):
        return [self[PREFIX + name] for name in sorted(self.row.values)]

    def clean(self):
        data = super().clean()
        changed = {}
        for name, original in self.row.values.items():
            key = PREFIX + name
            if key not in data:
                continue
            try:
                value = _parsed(original, data[key])
            except forms.ValidationError as exc:
                self.add_error(key, exc)
                continue
            if value != original:
                changed[name] = value
        if not changed and not self.errors:
            raise forms.ValidationError("Change a value first, or retry the write as it is.")
        data["changed"] = changed
        return data

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, the value the write carried, the corrected one), for the confirmation and the audit."""
        return [(name, self.row.values.get(name), value) for name, value in self.cleaned_data["changed"].items()]
