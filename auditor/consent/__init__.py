"""Consent registry: who agreed to be recorded, for what and until when (YAML or CSV)."""

from auditor.consent.registry import (
    ClientRecord,
    Consent,
    ConsentRegistry,
    LegalHold,
    load_registry,
)

__all__ = ["ClientRecord", "Consent", "ConsentRegistry", "LegalHold", "load_registry"]
