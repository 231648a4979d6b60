"""Local storage emulators for tests that run real tools against the three clouds' APIs."""
