"""Composition: typed stack config -> one footprint per cloud target -> the platform."""
