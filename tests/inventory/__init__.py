"""Tests of inventory/."""
