"""BERTopic's `bertopic.representation`, for `BERTopic(representation_model=...)`.

`KeyBERTInspired`, `MaximalMarginalRelevance` and `PartOfSpeech` rank words: labeler runs them
as stages of its own keyword chain (`labeler.represent.chain`, `labeler.represent.pos`).

`OpenAI` and `TextGeneration` name topics: they are labeler's LLM label step
(`labeler.labels.labeling.label_topics`, the one `labeler run` and `labeler label` use), so a
topic gets what a labeler run gives it, not a bare completion: a label and a summary from the
packaged prompt (`prompts/label_summary.jinja`, or `prompt=` a prompt's name or file), with the
documents fenced as untrusted input, the label's relevance, claim and injection checks, and
distinct labels across topics. Each call writes the fitted model to a temporary run folder,
labels it, and gives the fitted model each topic's label record (`TopicModel.llm_labels_`): the
label becomes the topic's Name and main representation, as BERTopic's models give one. A
namer keeps its answers, so describing again after `merge_topics` or `reduce_topics` asks only
about topics that changed, and `model.save(path)` keeps labels, summaries and answers in the run
(where the report and the review app show them).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator

from labeler.errors import LabelerError, redact_url
from labeler.labels.labeling import label_topics
from labeler.llm.client import ChatModel, ChatResult, OpenAIChat
from labeler.llm.settings import PACKAGED, LLMSettings, open_chat_model
from labeler.represent.chain import KeyBERTInspired, MaximalMarginalRelevance, PartOfSpeech
from labeler.run.folder import Run
from labeler.run.records import model_config, save_model

__all__ = [
    "KeyBERTInspired",
    "MaximalMarginalRelevance",
    "OpenAI",
    "PartOfSpeech",
    "TextGeneration",
]

log = logging.getLogger("labeler")

DEFAULT_PROMPT = "label_summary"  # labeler's prompt: a label and a one-sentence summary
_BERTOPIC_TAGS = ("[KEYWORDS]", "[DOCUMENTS]")


def _check_prompt(prompt: str | None) -> str:
    if prompt is None:
        return DEFAULT_PROMPT
    if any(tag in prompt for tag in _BERTOPIC_TAGS):
        raise LabelerError(
            "prompt: labeler's prompts are Jinja2 files that ask for a label and a summary "
            "as JSON (prompts/label_summary.jinja shows one), not BERTopic's text with "
            "[KEYWORDS] and [DOCUMENTS]: pass prompt= a packaged prompt's name (label_summary, "
            "label_only) or the path of your own file"
        )
    return prompt


class _Namer(BaseEstimator):
    """What `OpenAI` and `TextGeneration` share: labeling a fitted model through a run folder."""

    def _settings(self) -> LLMSettings:
        raise NotImplementedError

    @contextlib.contextmanager
    def _chat(self, settings: LLMSettings, cache_dir) -> Iterator[ChatModel]:
        raise NotImplementedError

    def answers(self) -> list[dict]:
        """The answers asked so far (the run's LLM cache rows), for the next call and the run
        that `save` writes."""
        return list(getattr(self, "_answers", []))

    def name_topics(self, model, topics: list[int]) -> dict[int, dict]:
        """Each topic's label record, as the label step stored it (label, summary, source
        "llm", model, prompt, flags): `labeler.represent.chain.TopicNamer`."""
        settings = self._settings().check()
        cache_dir = Path(model.cache_dir) if model.cache_dir else None
        with tempfile.TemporaryDirectory(prefix="labeler-names-") as tmp:
            config = model_config(model)
            # The answers so far travel through save_model (it asks every namer for them).
            run = Run.create(Path(tmp) / "run", lambda staging: save_model(model, staging, config))
            with self._chat(settings, cache_dir) as chat:
                stats = label_topics(run, settings, topics, chat=chat, cache_dir=cache_dir)
            log.info(
                "%s: %d topics asked, %d answers cached",
                type(self).__name__, stats.topics, stats.cache_hits,
            )  # fmt: skip
            labels = run.db.current_labels()
            self._answers = run.db.answers()
        asked = set(topics)
        return {t: dict(row) for t, row in labels.items()
                if t in asked and row.get("source") == "llm"}  # fmt: skip


class OpenAI(_Namer):
    """BERTopic's OpenAI representation: topic labels from any OpenAI-compatible endpoint,
    through the user's `openai.OpenAI` client (so its key, base URL, retries and timeouts are
    the user's; none of them is written anywhere).

    Parameters (BERTopic 0.17's)
    ----------
    client : openai.OpenAI
    model : str, default "gpt-4o-mini"
    prompt : str or None
        A labeler prompt's name or file (default `label_summary`); BERTopic's
        `[KEYWORDS]`/`[DOCUMENTS]` text is refused with an explanation.
    generator_kwargs : dict
        `temperature` and `max_tokens` are used; other keys are refused.
    system_prompt, delay_in_seconds, exponential_backoff, nr_docs, diversity, doc_length,
    tokenizer, chat
        Kept for the record: labeler's prompt file holds its instructions, the client retries
        with backoff, and the label step chooses and cuts the documents it shows (a topic's
        most typical ones, within the prompt's token budget).
    corpus_description : str or None
        What the corpus is, for the prompt (`labeler run --corpus-description`).
    """

    def __init__(
        self,
        client,
        model: str = "gpt-4o-mini",
        prompt: str | None = None,
        system_prompt: str | None = None,
        generator_kwargs: Mapping[str, Any] | None = None,
        delay_in_seconds: float | None = None,
        exponential_backoff: bool = False,
        nr_docs: int = 4,
        diversity: float | None = None,
        doc_length: int | None = None,
        tokenizer=None,
        chat: bool = True,
        corpus_description: str | None = None,
    ):
        self.client = client
        self.model = model
        self.prompt = prompt
        self.system_prompt = system_prompt
        self.generator_kwargs = generator_kwargs
        self.delay_in_seconds = delay_in_seconds
        self.exponential_backoff = exponential_backoff
        self.nr_docs = nr_docs
        self.diversity = diversity
        self.doc_length = doc_length
        self.tokenizer = tokenizer
        self.chat = chat
        self.corpus_description = corpus_description
        _check_prompt(prompt)
        _generation(generator_kwargs)
        if not all(hasattr(client, a) for a in ("chat", "base_url")):
            raise LabelerError(
                f"OpenAI: client is an openai.OpenAI client, not {type(client).__name__}"
            )

    def _settings(self) -> LLMSettings:
        return LLMSettings(
            provider="endpoint", base_url=str(self.client.base_url), model=self.model,
            prompt=_check_prompt(self.prompt), corpus_description=self.corpus_description,
            **_generation(self.generator_kwargs),
        )  # fmt: skip

    @contextlib.contextmanager
    def _chat(self, settings: LLMSettings, cache_dir) -> Iterator[ChatModel]:
        identity = f"{self.model}@{redact_url(str(self.client.base_url))}"
        yield OpenAIChat.from_client(self.client, self.model, identity=identity)


def _generation(kwargs: Mapping[str, Any] | None) -> dict:
    """`generator_kwargs` as LLMSettings' fields."""
    kwargs = dict(kwargs or {})
    allowed = {"temperature": "temperature", "max_tokens": "max_tokens"}
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise LabelerError(
            f"generator_kwargs: {', '.join(unknown)} not supported (temperature, max_tokens are)"
        )
    return {allowed[k]: v for k, v in kwargs.items()}


class _PipelineChat:
    """A transformers text-generation pipeline as a ChatModel: its chat template formats the
    messages, and its reply is the answer (checked after the fact: no structured output)."""

    supports_prefill = False

    def __init__(self, pipe, pipeline_kwargs: Mapping[str, Any] | None = None):
        self.pipe = pipe
        self.pipeline_kwargs = dict(pipeline_kwargs or {})
        name = getattr(getattr(pipe, "model", None), "name_or_path", None) or type(pipe).__name__
        self.identity = f"transformers:{Path(str(name)).name}"

    def chat(self, messages, *, schema, temperature, max_tokens) -> ChatResult:
        kwargs = {"max_new_tokens": max_tokens, "return_full_text": False,
                  "do_sample": temperature > 0, **self.pipeline_kwargs}  # fmt: skip
        if temperature > 0:
            kwargs.setdefault("temperature", temperature)
        out = self.pipe(messages, **kwargs)
        generated = out[0]["generated_text"] if out else ""
        if isinstance(generated, list):  # the conversation with the reply appended
            generated = generated[-1].get("content", "") if generated else ""
        return ChatResult(content=str(generated))


class TextGeneration(_Namer):
    """BERTopic's TextGeneration representation: labels from a local model.

    `model`: "local" or "small" (the packaged Qwen2.5-Coder 1.5B or 0.5B, served in this process
    on 127.0.0.1 for the call), a .gguf file (served the same way), a labeler `ChatModel`, or a
    transformers text-generation pipeline (or the name or path of one, which transformers loads;
    nothing is downloaded when offline). `prompt` is a labeler prompt's name or file, as in
    `OpenAI`; `pipeline_kwargs` go to a pipeline's call; `random_state`, `nr_docs`, `diversity`,
    `doc_length` and `tokenizer` are kept for the record (see `OpenAI`).
    """

    def __init__(
        self,
        model="local",
        prompt: str | None = None,
        pipeline_kwargs: Mapping[str, Any] | None = None,
        random_state: int = 42,
        nr_docs: int = 4,
        diversity: float | None = None,
        doc_length: int | None = None,
        tokenizer=None,
        corpus_description: str | None = None,
    ):
        self.model = model
        self.prompt = prompt
        self.pipeline_kwargs = pipeline_kwargs
        self.random_state = random_state
        self.nr_docs = nr_docs
        self.diversity = diversity
        self.doc_length = doc_length
        self.tokenizer = tokenizer
        self.corpus_description = corpus_description
        _check_prompt(prompt)
        self._served()  # refuse what cannot serve before anything is fitted

    def _served(self) -> str | None:
        """The packaged provider (or .gguf path) labeler serves itself, else None."""
        model = self.model
        if isinstance(model, (str, Path)) and (
            str(model) in PACKAGED or str(model).endswith(".gguf")
        ):
            if str(model).endswith(".gguf") and not Path(model).is_file():
                raise LabelerError(f"TextGeneration: no such .gguf file: {model}")
            return str(model)
        if isinstance(model, ChatModel) or callable(model) or isinstance(model, (str, Path)):
            return None
        raise LabelerError(
            "TextGeneration: model is 'local', 'small', a .gguf file, a labeler ChatModel or a "
            f"transformers text-generation pipeline, not {type(model).__name__}"
        )

    def _settings(self) -> LLMSettings:
        served = self._served()
        return LLMSettings(
            provider=served or "endpoint", prompt=_check_prompt(self.prompt),
            corpus_description=self.corpus_description,
        )  # fmt: skip

    @contextlib.contextmanager
    def _chat(self, settings: LLMSettings, cache_dir) -> Iterator[ChatModel]:
        if self._served():
            with open_chat_model(settings, cache_dir) as chat:
                yield chat
            return
        model = self.model
        if isinstance(model, ChatModel):
            yield model
            return
        if isinstance(model, (str, Path)):
            try:
                from transformers import pipeline

                model = pipeline("text-generation", model=str(model))
            except Exception as exc:  # noqa: BLE001 - any load failure is the user's to fix
                raise LabelerError(
                    f"TextGeneration: transformers could not load {self.model!r} ({exc}); "
                    "pass 'local' or 'small' for the packaged models"
                ) from exc
        yield _PipelineChat(model, self.pipeline_kwargs)
