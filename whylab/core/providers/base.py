"""The provider interface: one streamed chat call, text chunks then a Completion.

Every provider module (one per SDK) implements Provider. Callers iterate
`stream()`: it yields `str` deltas as they arrive and exactly one `Completion`
last. Closing the generator early (cancel) closes the underlying HTTP stream.

Providers with a batch API (Anthropic Message Batches, OpenAI Batch: half price,
answers within hours) also implement `submit_batch`, `batch_status` and
`batch_results`; the others raise NotImplementedError from them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from whylab.core.errors import ProviderError
from whylab.core.models import ChatRequest, Completion, ProviderKind

StreamItem = str | Completion
BatchResults = dict[str, Completion | ProviderError]
"""A finished batch's outcome by custom id: the answer, or why that request failed."""


@dataclass(frozen=True)
class BatchState:
    """Where a submitted batch stands.

    Attributes:
        id: The provider's batch id.
        ended: No request is still being processed; results can be fetched.
        processing: Requests not yet answered.
        succeeded: Requests answered.
        failed: Requests that failed, expired or were cancelled.
    """

    id: str
    ended: bool
    processing: int = 0
    succeeded: int = 0
    failed: int = 0

    @property
    def pending(self) -> bool:
        """Whether the batch is still being processed."""
        return not self.ended


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

    @property
    def has_batch_api(self) -> bool:
        """Whether `submit_batch` and friends work for this provider."""
        return False

    def submit_batch(self, requests: list[tuple[str, ChatRequest]]) -> str:
        """Send many requests as one batch job (at the provider's batch price).

        Args:
            requests: (custom id, request) pairs; ids are unique, at most 64 of
                [A-Za-z0-9_-] (what both APIs accept).

        Returns:
            The provider's batch id, for `batch_status` and `batch_results`.

        Raises:
            NotImplementedError: the provider has no batch API.
            ProviderError: the batch could not be created.
        """
        raise NotImplementedError(self._no_batch_api())

    def batch_status(self, batch_id: str) -> BatchState:
        """Where the batch `batch_id` stands.

        Raises:
            NotImplementedError: the provider has no batch API.
            ProviderError: the status could not be read.
        """
        raise NotImplementedError(self._no_batch_api())

    def batch_results(self, batch_id: str) -> BatchResults:
        """The outcome of every request of an ended batch, by custom id.

        Raises:
            NotImplementedError: the provider has no batch API.
            ProviderError: the results could not be read (or the batch has not ended).
        """
        raise NotImplementedError(self._no_batch_api())

    def _no_batch_api(self) -> str:
        return (
            f"The {self.kind} provider has no batch API: batch runs through a provider's "
            "batch API need the anthropic or openai provider (run without --batch-api instead)."
        )
