"""Shared fixtures: one organization and one of its patients."""

from tests.world import org, patient

__all__ = ["org", "patient"]
