"""The figures README.md and docs/*.md take from the code are the code's: `make docs` writes them (docs/generate.py).

Sections from the code must be exactly what the code gives now. Benchmark sections hold seconds that vary per
machine, so only the resource counts they quote are checked: the prod row and the policy run against the prod plan,
and the smallest generated stack against its own synthesis (the other generated stacks take about a minute more to
synthesize and come from the same code path).
"""

from __future__ import annotations

import pytest

from benchmarks.synthesis import GROWTH_LABEL, generated_stack, split
from docs import generate
from preflight.plan import Plan
from preflight.synthesize import synthesize


def test_sections_from_the_code_are_current(dev_plan: Plan, prod_plan: Plan) -> None:
    stale = generate.stale_sections(generate.Facts({"dev": dev_plan, "prod": prod_plan}))
    assert not stale, f"generated doc sections differ from the code (run `make docs`): {', '.join(stale)}"


def test_benchmark_sections_quote_the_resource_counts_of_the_code(prod_plan: Plan) -> None:
    counts = generate.benchmark_counts()
    one_target = GROWTH_LABEL.format(n=1, s="")
    assert counts["prod (Pulumi.prod.yaml)"] == len(prod_plan.resources)
    assert counts["policy: prod plan"] == len(prod_plan.resources)
    assert counts[one_target] == len(synthesize(generated_stack(split(1))).resources)


def test_a_section_is_rewritten_between_its_markers_and_nothing_else() -> None:
    text = "intro\n<!-- BEGIN GENERATED: figures -->\nold 402\n<!-- END GENERATED: figures -->\noutro 17\n"
    once = generate.replace_section(text, "figures", "| a | 449 |")
    assert (
        once == "intro\n<!-- BEGIN GENERATED: figures -->\n\n| a | 449 |\n\n<!-- END GENERATED: figures -->\noutro 17\n"
    )
    assert generate.replace_section(once, "figures", "| a | 449 |") == once
    assert generate.section_body(once, "figures") == "| a | 449 |"


@pytest.mark.parametrize("text", ["no markers at all\n", "<!-- BEGIN GENERATED: figures -->\nunclosed\n"])
def test_a_missing_section_is_one_line_naming_the_file_and_section(text: str) -> None:
    with pytest.raises(ValueError, match=r"^README.md: 0 sections named 'figures', expected exactly one$"):
        generate.replace_section(text, "figures", "body", "README.md")
