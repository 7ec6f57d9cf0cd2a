"""Printed documents: the erasure certificate (one page per laptop), the donor batch
summary, and asset labels (62 mm tape and A4 sheets). All are drawn with reportlab from
signed records, which the callers verify first: a certificate is never printed from a
record whose signature does not hold."""
