"""Request timeouts: the packaged model on a busy CPU is slow, not down."""

from labeler.llm.settings import LLMSettings


def test_the_packaged_model_waits_longer_than_an_endpoint():
    # 60 s timed out every request of a 3,000-document run on two loaded cores, and each topic
    # silently fell back to its keyword label.
    assert LLMSettings().request_timeout == 600.0
    assert LLMSettings(base_url="http://127.0.0.1:9/v1").request_timeout == 60.0


def test_an_explicit_timeout_wins():
    assert LLMSettings(timeout=5.0).request_timeout == 5.0
    assert LLMSettings(base_url="http://127.0.0.1:9/v1", timeout=300.0).request_timeout == 300.0
