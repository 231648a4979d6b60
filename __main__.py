"""mlplatform: an ML serving platform on AWS, GCP and Azure from one Pulumi program."""

from stacks.platform import build_platform, read_stack_config

build_platform(read_stack_config())
