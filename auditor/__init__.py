"""recording-auditor: find therapy-session recordings and flag the ones that break the rules."""

__version__ = "0.1.0"
