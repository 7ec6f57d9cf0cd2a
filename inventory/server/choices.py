"""Choices as plain string constants (mypy sees them as str without django-stubs, where
Django's TextChoices members look like tuples), with their translated labels."""

from __future__ import annotations

from typing import Any, ClassVar


class Choices:
    choices: ClassVar[list[tuple[str, Any]]] = []

    @classmethod
    def label(cls, value: str) -> str:
        return str(dict(cls.choices).get(value, value))
