"""Imports every protocol module so that each registers its structs and enums."""

from __future__ import annotations

from ustref.protocol import consumer  # noqa: F401
