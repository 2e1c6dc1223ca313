"""The scoring runtime (``aksml serve``). Never imports Pulumi."""
