"""preflight: the platform's plan, checks and figures, offline, with no cloud account or Pulumi CLI."""
