"""Data sources -> one Manifest -> one Split. See DESIGN.md, 'Data flow'."""
