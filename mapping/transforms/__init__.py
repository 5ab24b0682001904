"""Named transforms between a vendor's field values and canonical values, each usable on the CRM or the ERP side.

One module per kind: ``base`` (what a transform is), ``text``, ``choices`` (picklists, yes/no),
``numbers_and_money`` (numbers, cents, currency codes, money), ``dates``, ``contact`` (phones, countries), and
``registry`` (the transforms by name). Line items live in ``mapping.line_items``.
"""
from mapping.transforms.base import Compiled, Transform
from mapping.transforms.registry import TRANSFORMS, get_transform, transform_choices
from mapping.types import TransformError

__all__ = ["Compiled", "TRANSFORMS", "Transform", "TransformError", "get_transform", "transform_choices"]
