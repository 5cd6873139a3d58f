"""Breach investigation: from a `breach` finding to an assessment an officer can file.

- `register`: the durable breach register (sqlite3) shared by `auditor scan` and `auditor watch`;
  one record per exposed recording per exposure episode, its clock set once, an append-only
  audit trail of everything that happened to it.
- `observe`: what a scan result (or a watch judgement) tells the register, and the register's
  clock put back on the findings.
- `access_log`, `cloudtrail`, `auditlog`: the three kinds of access evidence the tool can read.
- `evidence`: reads them for a breach's exposure window and says "read", "not read" or "unknown".
- `assessment`: the pack for HIPAA 164.402(2)/164.404(c) and GDPR Art 33(3).
"""
