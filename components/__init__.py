"""Reusable ComponentResources of the ML serving platform, one folder per concept."""
