"""The recording monitor stands in for the engine: transforms run as the engine runs them."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from tests.helpers import only, program_plan


def add_keeper(key: str) -> pulumi.ResourceTransform:
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != "random:index/randomPet:RandomPet":
            return None
        keepers = {**(args.props.get("keepers") or {}), key: "yes"}
        return pulumi.ResourceTransformResult(props={**args.props, "keepers": keepers}, opts=args.opts)

    return transform


def test_parent_and_stack_transforms_reach_children_and_the_program_sees_the_result() -> None:
    def program() -> None:
        pulumi.runtime.register_resource_transform(add_keeper("stack"))
        group = pulumi.ComponentResource(
            "test:index:Group", "group", None, pulumi.ResourceOptions(transforms=[add_keeper("parent")])
        )
        pet = random.RandomPet("pet", keepers={"own": "1"}, opts=pulumi.ResourceOptions(parent=group))
        outside = random.RandomPet("outside")
        pulumi.export("keepers", pet.keepers)
        pulumi.export("outsideKeepers", outside.keepers)

    plan = program_plan(program)
    pet = next(r for r in plan.of_type("random:index/randomPet:RandomPet") if r.name == "pet")
    assert pet.inputs["keepers"] == {"own": "1", "parent": "yes", "stack": "yes"}
    assert plan.outputs["keepers"] == {"own": "1", "parent": "yes", "stack": "yes"}
    assert plan.outputs["outsideKeepers"] == {"stack": "yes"}
    assert only(plan, "test:index:Group").custom is False


def test_invokes_answer_from_the_mock_tables() -> None:
    import pulumi_aws as aws

    def program() -> None:
        provider = aws.Provider("p", region="eu-west-1")
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
        pulumi.export("account", identity.account_id)

    assert program_plan(program).outputs["account"] == "123456789012"


def test_reading_an_existing_resource_is_answered_and_recorded() -> None:
    import pulumi_aws as aws

    def program() -> None:
        provider = aws.Provider("p", region="eu-west-1")
        key = aws.kms.Key.get("existing", "1234abcd", opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("arn", key.arn)

    plan = program_plan(program)
    assert plan.outputs["arn"].startswith("arn:aws:kms:eu-west-1:")
    assert only(plan, "aws:kms/key:Key").inputs["id"] == "1234abcd"
