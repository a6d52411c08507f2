"""WhyLab: compare rule-prompted and why-prompted system prompts on edge cases."""

__version__ = "0.1.0"
