"""The API stores nothing the model would refuse: one base for every writing ModelSerializer."""
from __future__ import annotations

import copy

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_error_detail
from rest_framework.settings import api_settings


class ModelValidatedSerializer(serializers.ModelSerializer):
    """Runs the model's own validation (field validators, ``clean()``, unique checks and constraints) on the
    instance as it would be saved, the way the admin's forms do, and answers 400 with its messages.

    Model fields this serializer does not write are left out of the field checks (the view fills them in at
    save), but ``clean()`` always runs. Subclasses that override ``validate`` call ``super().validate``."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = copy.copy(self.instance) if self.instance is not None else model()
        concrete = {field.name for field in model._meta.concrete_fields}
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
        names = {field.source: name for name, field in self.fields.items()}
        return {(api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else names.get(key, key)): value
                for key, value in detail.items()}
