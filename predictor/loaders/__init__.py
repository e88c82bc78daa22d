"""Loaders of conductivity and window labels (OBELiX, Liverpool database, curated datasets)."""

#: Conductivity sources, in order of precedence when a composition appears in several.
SOURCES = ("obelix", "curated", "liiondb")
