"""The API stores nothing the model would refuse: one base for every writing ModelSerializer."""
from __future__ import annotations

import copy

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.fields import get_error_detail
from rest_framework.settings import api_settings

from integration_hub.kernel import json_guard


class ModelValidatedSerializer(serializers.ModelSerializer):
    """Runs the model's own validation (field validators, ``clean()``, unique checks and constraints) on the
    instance as it would be saved, the way the admin's forms do, and answers 400 with its messages.

    Model fields this serializer does not write are left out of the field checks (the view fills them in at
    save), but ``clean()`` always runs. Subclasses that override ``validate`` call ``super().validate``."""

    # JSON typed into the browsable API's forms goes through the JSON guard (integration_hub/kernel/json_guard.py).
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.JSONField: json_guard.GuardedJSONSerializerField}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = copy.copy(self.instance) if self.instance is not None else model()
        concrete = {field.name: field for field in model._meta.concrete_fields}
        # full_clean() lets None through a blank=True field; a form or multipart body can send a JSON "null" past
        # DRF's own null check (as the string "null"), and the database would refuse it.
        nulls = {name: ["This field may not be null."] for name, value in attrs.items()
                 if value is None and name in concrete and not concrete[name].null}
        if nulls:
            raise serializers.ValidationError({self._api_name(name): errors for name, errors in nulls.items()})
        for name, value in attrs.items():
            if name in concrete:
                setattr(instance, name, value)
        written = set(attrs) | {field.source for field in self.fields.values()
                                if not field.read_only and field.source != "*"}
        exclude = [name for name in concrete if name not in written]
        try:
            instance.full_clean(exclude=exclude)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(self._api_errors(exc)) from None
        return attrs

    def _api_errors(self, exc: DjangoValidationError):
        """Django's errors keyed as this serializer names its fields (``crm_field`` for ``crm_path``)."""
        detail = get_error_detail(exc)
        if not isinstance(detail, dict):
            return {api_settings.NON_FIELD_ERRORS_KEY: detail}
        return {(api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else self._api_name(key)): value
                for key, value in detail.items()}

    def _api_name(self, model_field: str) -> str:
        return next((name for name, field in self.fields.items() if field.source == model_field), model_field)
