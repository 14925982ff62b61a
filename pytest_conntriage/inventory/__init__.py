"""The inventory: YAML files → a validated, merged, frozen model (see docs/inventory.md)."""

from __future__ import annotations

from .errors import InventoryError, InventoryWarning
from .load import load_inventories
from .schema import SCHEMA_PATH, inventory_schema

__all__ = [
    "SCHEMA_PATH",
    "InventoryError",
    "InventoryWarning",
    "inventory_schema",
    "load_inventories",
]
