"""Hypothesis settings for the grammar properties: many kinds, few examples each."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ustref",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ustref")
