"""The provider interface: one streamed chat call, text chunks then a Completion.

Every provider module (one per SDK) implements Provider. Callers iterate
`stream()`: it yields `str` deltas as they arrive and exactly one `Completion`
last. Closing the generator early (cancel) closes the underlying HTTP stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from whylab.core.models import ChatRequest, Completion, ProviderKind

StreamItem = str | Completion


class Provider(ABC):
    """A model endpoint that can stream a chat completion."""

    kind: ProviderKind

    @property
    @abstractmethod
    def default_model(self) -> str:
        """The model used when a request names none."""

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream one chat call: text deltas, then one Completion.

        Raises:
            ProviderError: the call failed; its kind says whether a retry may help.
        """

    @abstractmethod
    def list_models(self) -> list[str]:
        """Model ids the endpoint offers (empty where the API has no such list)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections; the provider is not used afterwards."""

    def complete(self, request: ChatRequest) -> Completion:
        """Run a call to the end and return only its Completion."""
        for item in self.stream(request):
            if isinstance(item, Completion):
                return item
        raise AssertionError("provider stream ended without a Completion")
