"""Plausible outputs per resource type, one module per cloud, so each cloud's table grows on its own."""
