"""API views for connected systems."""
from rest_framework import viewsets

from connectors.api.serializers import ConnectedSystemSerializer
from connectors.filters import SystemFilterSet
from connectors.models import ConnectedSystem


class ConnectedSystemViewSet(viewsets.ModelViewSet):
    """Connected CRMs and ERPs. RevOps admins edit; every role reads (secrets are never returned)."""

    queryset = ConnectedSystem.objects.all()
    serializer_class = ConnectedSystemSerializer
    filterset_class = SystemFilterSet
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "put", "head", "options"]
