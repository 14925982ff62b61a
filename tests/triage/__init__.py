"""Tests of triage/."""
