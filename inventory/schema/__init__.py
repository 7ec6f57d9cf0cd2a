"""Published JSON Schemas of weee's records (package data, loaded by inventory.record)."""
