"""Bytes ⇄ values for every AeroDB on-disk format. No file-system effects beyond reading the
stream a caller hands in."""
