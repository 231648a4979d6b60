"""Config namespaces: a key whose namespace nothing reads is a typo the engine would ignore without a word.

A stack file's keys are `<namespace>:<key>`. The project reads its own namespace, each provider
the program uses reads its own, and `pulumi:` is the engine's. Anything else (`mlplatfom:gpuPools`)
reaches nobody, so the plan would silently lack what the key meant: it is reported as a warning
naming the key (a warning, not an error: a provider added later may read it).
"""

from __future__ import annotations

from collections.abc import Iterable

# The providers the program creates resources with (requirements.txt: pulumi-aws, pulumi-gcp,
# pulumi-azure-native, pulumi-kubernetes, pulumi-eks, pulumi-random), and the engine's own namespace.
# tests/test_bad_input_config.py keeps this in step with requirements.txt.
PROVIDER_NAMESPACES = ("aws", "gcp", "azure-native", "kubernetes", "eks", "random", "pulumi")


def unread_keys(keys: Iterable[str], project: str) -> list[str]:
    """One warning per key in a namespace that neither the project nor a provider in use reads."""
    known = (project, *PROVIDER_NAMESPACES)
    warnings = []
    for key in keys:
        namespace = key.split(":", 1)[0] if ":" in key else project
        if namespace not in known:
            warnings.append(
                f"{key}: nothing reads the namespace {namespace!r} (read: {', '.join(known)}); the key is ignored"
            )
    return warnings
