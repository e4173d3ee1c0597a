"""BERTopic's `bertopic.vectorizers`: `ClassTfidfTransformer` (`labeler.represent.ctfidf`), for
`BERTopic(ctfidf_model=...)`. `vectorizer_model` takes scikit-learn's own CountVectorizer."""

from labeler.represent.ctfidf import ClassTfidfTransformer

__all__ = ["ClassTfidfTransformer"]
