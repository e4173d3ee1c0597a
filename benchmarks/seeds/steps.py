# ruff: noqa: E501 - a seed's code is kept as written, long lines included
"""Every code step of the five seed documents (../shared/seeds), in seed order.

A step is one code block of a seed, or one statement group of it that a user runs on its own.
`seed_code` is the code as the seed's text has it (trailing spaces dropped; benchmarks/
seed_steps.py checks that it is in the seed). `code` is what runs, when that is not `seed_code`:

- `repaired`: the copy of the seed is damaged (a line cut short, a call that only its comment
  still names, underscores dropped); `note` says what was restored and from where.
- `cell`: a cell of the README's API tables (`.fit(docs)`), run as `topic_model.fit(docs)`; a
  result that a later cell reads is bound to the name that cell uses.
- `prose`: a call the seed names in its prose only.
- `reconstructed`: seed 002's copy lost all its code blocks; its steps are rebuilt from the
  prose that describes each one (and the original article's code as remembered), flagged so.
- `follow-up`: not in the seed; the obvious next call that shows a step's result.
Doctest prompts (`>>> `) are dropped. Only the import lines change when a step runs (see
substitutions.IMPORTS). The data and model stand-ins are in substitutions.py as well.

`expect` is the kind of result that the seed shows, as an expression over the scenario's names,
with `_` as the step's result (its last expression, or what its last assignment bound).

Scenarios run their steps in order in one namespace. `setup` repeats earlier steps (not
reported again) so that a scenario starts where the seed's reader is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    seed: str
    n: int
    name: str
    seed_code: str
    code: str = ""
    text: str = "verbatim"  # verbatim | repaired | cell | prose | reconstructed | follow-up
    note: str = ""
    given: tuple[str, ...] = ()  # substitutions.GIVENS run first
    expect: str = ""
    skip: str = ""  # never run, and why
    llm: bool = False  # calls an LLM: runs only with --llm

    @property
    def id(self) -> str:
        return f"{self.seed}.{self.n}"

    @property
    def runs(self) -> str:
        if self.code:
            return self.code
        return "\n".join(line.removeprefix(">>> ") for line in self.seed_code.splitlines())


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    setup: tuple[Step, ...] = ()


SHELL = "a shell command (pip), not Python"
FIGURE = 'hasattr(_, "write_html")'  # a plotly figure: seed 001 writes one with write_html
TOPIC_INFO = 'isinstance(_, pd.DataFrame) and {"Topic", "Count", "Name"} <= set(_.columns)'
KEYWORDS = "isinstance(_, list) and len(_) > 0 and all(isinstance(w, str) and isinstance(s, float | np.floating) for w, s in _)"


def _prose(seed: str, n: int, method: str, code: str, expect: str = FIGURE) -> Step:
    return Step(seed, n, method, method, code=code, text="prose", expect=expect)


# ---------------------------------------------------------------- 000: Reddit /r/python posts
S000 = (
    Step(
        "000",
        1,
        "load the Reddit data set",
        """from datasets import load_dataset

data = load_dataset('jamescalam/python-reddit')""",
        expect="len(data) > 0",
    ),
    Step(
        "000",
        2,
        "drop short posts",
        """data = data.filter(
    lambda x: True if len(x['selftext']) > 30 else 0""",
        code="""data = data.filter(
    lambda x: True if len(x['selftext']) > 30 else 0
)""",
        text="repaired",
        note="the copy lost the closing parenthesis",
        expect="len(data) > 0",
    ),
    Step(
        "000",
        3,
        "import BERTopic and CountVectorizer",
        """from bertopic import BERTopic
from sklearn.feature_extraction.text import CountVectorizer""",
    ),
    Step(
        "000",
        4,
        "CountVectorizer with English stop words",
        """# we add this to remove stopwords
vectorizer_model = CountVectorizer(ngram_range=(1, 2), stop_words="english")""",
    ),
    Step(
        "000",
        5,
        "BERTopic(vectorizer_model, language, calculate_probabilities)",
        """model = BERTopic(
    language='english', calculate_probabilities=True,""",
        code="""model = BERTopic(
    vectorizer_model=vectorizer_model,
    language='english', calculate_probabilities=True,
)""",
        text="repaired",
        note="the copy lost a line and the closing parenthesis; the prose says the stop words "
        "were removed 'via the vectorizer_model argument', so that argument is passed",
    ),
    Step(
        "000",
        6,
        "fit_transform",
        "topics, probs = model.fit_transform(text)",
        given=("text",),
        expect="len(topics) == len(text) and np.ndim(probs) == 2 and len(probs) == len(text)",
    ),
    Step(
        "000",
        7,
        "get_topic_info",
        "freq = model.get_topic_info()",
        expect=TOPIC_INFO + " and _.Topic.iloc[0] == -1",
    ),
    _prose("000", 8, "visualize_topics", "model.visualize_topics()"),
    _prose("000", 9, "visualize_hierarchy", "model.visualize_hierarchy()"),
    _prose("000", 10, "visualize_barchart", "model.visualize_barchart()"),
    Step(
        "000",
        11,
        "SentenceTransformer('all-MiniLM-L6-v2')",
        """from sentence_transformers import SentenceTransformer

model = SentenceTransformer('all-MiniLM-L6-v2')""",
        expect="model.get_sentence_embedding_dimension() == 384",
    ),
    Step(
        "000",
        12,
        "embed the posts in batches of 16",
        """import numpy as np
from import tqdm

batch_size = 16

embeds = np.zeros((n, model.get_sentence_embedding_dimension()))

for i in tqdm(range(0, n, batch_size)):
    i_end = min(i+batch_size, n)
    batch = data['selftext'][i:i_end]
    batch_embed = model.encode(batch)
    embeds[i:i_end,:] = batch_embed""",
        code="""import numpy as np
from tqdm.auto import tqdm

batch_size = 16

embeds = np.zeros((n, model.get_sentence_embedding_dimension()))

for i in tqdm(range(0, n, batch_size)):
    i_end = min(i+batch_size, n)
    batch = data['selftext'][i:i_end]
    batch_embed = model.encode(batch)
    embeds[i:i_end,:] = batch_embed""",
        text="repaired",
        note="`from import tqdm`: the copy lost the module (tqdm.auto)",
        given=("n",),
        expect="embeds.shape == (n, 384) and bool(np.abs(embeds).sum(axis=1).all())",
    ),
)

# ------------------------------------------------------------------- 001: Amazon reviews (UCI)
S001 = (
    Step("001", 1, "pip install bertopic", "# Install bertopic\n!pip install bertopic", skip=SHELL),
    Step(
        "001",
        2,
        "pip install joblib==1.1.0",
        "# Install older version of joblib\n!pip install --upgrade joblib==1.1.0",
        skip=SHELL,
    ),
    Step(
        "001",
        3,
        "import pandas, numpy, nltk; lemmatizer",
        """# Data processing
import pandas as pd
import numpy as np

# Text preprocessiong
import nltk'stopwords')'omw-1.4')'wordnet')
wn = nltk.WordNetLemmatizer()""",
        code="""# Data processing
import pandas as pd
import numpy as np

# Text preprocessiong
import nltk
nltk.download('stopwords')
nltk.download('omw-1.4')
nltk.download('wordnet')
wn = nltk.WordNetLemmatizer()""",
        text="repaired",
        note="the copy ran `import nltk` and three `nltk.download(...)` calls into one line",
    ),
    Step("001", 4, "import BERTopic", "# Topic model\nfrom bertopic import BERTopic"),
    Step("001", 5, "import UMAP", "# Dimension reduction\nfrom umap import UMAP"),
    Step(
        "001",
        6,
        "mount Google Drive (Colab)",
        """# Mount Google Drive
from google.colab import drive

# Change directory
import os
os.chdir("drive/My Drive/contents/nlp")

# Print out the current directory""",
        skip="Google Colab only (the seed: 'You can ignore the code below if you are not using "
        "Google Colab')",
    ),
    Step(
        "001",
        7,
        "read the reviews, drop the label",
        """# Read in data
amz_review = pd.read_csv('sentiment labelled sentences/amazon_cells_labelled.txt', sep='\\t', names=['review', 'label'])

# Drop te label
amz_review = amz_review.drop('label', axis=1);

# Take a look at the data""",
        code="""# Read in data
amz_review = pd.read_csv('sentiment labelled sentences/amazon_cells_labelled.txt', sep='\\t', names=['review', 'label'])

# Drop te label
amz_review = amz_review.drop('label', axis=1);

# Take a look at the data
amz_review.head()""",
        text="repaired",
        note="the copy lost `amz_review.head()`; its comment is still there",
        expect="len(amz_review) == 1000 and list(amz_review.columns) == ['review']",
    ),
    Step(
        "001",
        8,
        "dataset info",
        "# Get the dataset information",
        code="amz_review.info()",
        text="repaired",
        note="the copy lost `amz_review.info()`; its comment and output remain",
    ),
    Step(
        "001",
        9,
        "NLTK stop words",
        """# Remove stopwords
stopwords = nltk.corpus.stopwords.words('english')
print(f'There are {len(stopwords)} default stopwords. They are {stopwords}')""",
        expect="len(stopwords) == 179",
    ),
    Step(
        "001",
        10,
        "remove stop words, lemmatize",
        """# Remove stopwords
amz_review['review_without_stopwords'] = amz_review['review'].apply(lambda x: ' '.join([w for w in x.split() if w.lower() not in stopwords]))

# Lemmatization
amz_review['review_lemmatized'] = amz_review['review_without_stopwords'].apply(lambda x: ' '.join([wn.lemmatize(w) for w in x.split() if w not in stopwords]))

# Take a look at the data""",
        code="""# Remove stopwords
amz_review['review_without_stopwords'] = amz_review['review'].apply(lambda x: ' '.join([w for w in x.split() if w.lower() not in stopwords]))

# Lemmatization
amz_review['review_lemmatized'] = amz_review['review_without_stopwords'].apply(lambda x: ' '.join([wn.lemmatize(w) for w in x.split() if w not in stopwords]))

# Take a look at the data
amz_review.head()""",
        text="repaired",
        note="the copy lost `amz_review.head()`",
    ),
    Step(
        "001",
        11,
        "UMAP(n_neighbors=15, ...)",
        "# Initiate UMAP\numap_model = UMAP(n_neighbors=15,",
        code="""# Initiate UMAP
umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric='cosine', random_state=100)""",
        text="repaired",
        note="the copy cut the call after `n_neighbors=15,`; the other arguments are the ones "
        "the prose lists (n_components=5, min_dist 0, metric='cosine', a random_state: 100 is "
        "a guess)",
    ),
    Step(
        "001",
        12,
        "BERTopic(umap_model, language, calculate_probabilities)",
        """# Initiate BERTopic
topic_model = BERTopic(umap_model=umap_model, language="english", calculate_probabilities=True)""",
    ),
    Step(
        "001",
        13,
        "fit_transform",
        """# Run BERTopic model
topics, probabilities = topic_model.fit_transform(amz_review['review_lemmatized'])""",
        expect="len(topics) == len(amz_review) and np.ndim(probabilities) == 2",
    ),
    Step(
        "001",
        14,
        "get_topic_info",
        "# Get the list of topics",
        code="topic_model.get_topic_info()",
        text="repaired",
        note="the copy lost the call; its comment and the prose name it",
        expect=TOPIC_INFO,
    ),
    Step(
        "001",
        15,
        "get_topic(0)",
        "# Get top 10 terms for a topic",
        code="topic_model.get_topic(0)",
        text="repaired",
        note="the copy lost the call; the prose names `get_topic(0)`",
        expect=KEYWORDS + " and len(_) == 10",
    ),
    Step(
        "001",
        16,
        "visualize_barchart(top_n_topics=12)",
        "# Visualize top topic keywords",
        code="topic_model.visualize_barchart(top_n_topics=12)",
        text="repaired",
        note="the copy lost the call; the prose gives `top_n_topics=12`",
        expect=FIGURE,
    ),
    Step(
        "001",
        17,
        "visualize_term_rank",
        "# Visualize term rank decrease",
        code="topic_model.visualize_term_rank()",
        text="repaired",
        note="the copy lost the call; the prose names the 'Term score decline' chart",
        expect=FIGURE,
    ),
    Step(
        "001",
        18,
        "visualize_topics",
        "# Visualize intertopic distance",
        code="topic_model.visualize_topics()",
        text="repaired",
        note="the copy lost the call; the prose names the intertopic distance map",
        expect=FIGURE,
    ),
    Step(
        "001",
        19,
        "visualize_hierarchy(top_n_topics=10)",
        "# Visualize connections between topics using hierachical clustering",
        code="topic_model.visualize_hierarchy(top_n_topics=10)",
        text="repaired",
        note="the copy lost the call; the prose gives the top 10 topics",
        expect=FIGURE,
    ),
    Step(
        "001",
        20,
        "visualize_heatmap",
        "# Visualize similarity using heatmap",
        code="topic_model.visualize_heatmap()",
        text="repaired",
        note="the copy lost the call; the prose names the similarity heatmap",
        expect=FIGURE,
    ),
    Step(
        "001",
        21,
        "visualize_distribution(probabilities_[0], min_probability)",
        """# Visualize probability distribution
topic_model.visualize_distribution(topic_model.probabilities_[0], min_probability=0.015)""",
        expect=FIGURE,
    ),
    Step(
        "001",
        22,
        "chart = visualize_distribution(...)",
        """# Save the chart to a variable
chart = topic_model.visualize_distribution(topic_model.probabilities_[0])""",
        expect=FIGURE,
    ),
    Step(
        "001",
        23,
        "chart.write_html",
        "# Write the chart as a html file",
        code="chart.write_html('amz_review_topic_probability_distribution.html')",
        text="repaired",
        note="the copy lost the call; its comment and the prose name write_html",
        expect="os.path.getsize('amz_review_topic_probability_distribution.html') > 0",
    ),
    Step(
        "001",
        24,
        "the first review",
        "# Check the content for the first review",
        code="amz_review['review'][0]",
        text="repaired",
        note="the copy lost the line; its comment and output remain",
        expect="isinstance(_, str) and _.startswith('So there is no way')",
    ),
    Step(
        "001",
        25,
        "probabilities_[0]",
        "# Get probabilities for all topics",
        code="topic_model.probabilities_[0]",
        text="repaired",
        note="the copy lost the line; its comment and output remain",
        expect="np.ndim(_) == 1 and len(_) > 1",
    ),
    Step(
        "001",
        26,
        "topics_ into the data frame",
        """# Get the topic predictions
topic_prediction = topic_model.topics_[:]

# Save the predictions in the dataframe
amz_review['topic_prediction'] = topic_prediction

# Take a look at the data""",
        code="""# Get the topic predictions
topic_prediction = topic_model.topics_[:]

# Save the predictions in the dataframe
amz_review['topic_prediction'] = topic_prediction

# Take a look at the data
amz_review.head()""",
        text="repaired",
        note="the copy lost `amz_review.head()`",
        expect="len(topic_prediction) == len(amz_review)",
    ),
    Step(
        "001",
        27,
        "find_topics for a new review",
        """# New data for the review
new_review = "I like the new headphone. Its sound quality is great."

# Find topics
num_of_topics = 3
similar_topics, similarity = topic_model.find_topics(new_review, top_n=num_of_topics);

# Print results
print(f'The top {num_of_topics} similar topics are {similar_topics}, and the similarities are {np.round(similarity,2)}')""",
        expect="len(similar_topics) == 3 and len(similarity) == 3",
    ),
    Step(
        "001",
        28,
        "keywords of the similar topics",
        """# Print the top keywords for the top similar topics
for i in range(num_of_topics):
  print(f'The top keywords for topic {similar_topics[i]} are:')""",
        code="""# Print the top keywords for the top similar topics
for i in range(num_of_topics):
  print(f'The top keywords for topic {similar_topics[i]} are:')
  print(topic_model.get_topic(similar_topics[i]))""",
        text="repaired",
        note="the copy lost the loop's second line; the output shows get_topic's lists",
    ),
    Step(
        "001",
        29,
        "save",
        '# Save the topic model"amz_review_topic_model")',
        code='# Save the topic model\ntopic_model.save("amz_review_topic_model")',
        text="repaired",
        note="the copy lost `topic_model.save(` before the argument",
    ),
    Step(
        "001",
        30,
        "BERTopic.load",
        '# Load the topic model\nmy_model = BERTopic.load("amz_review_topic_model")',
        expect="type(my_model) is type(topic_model) and len(my_model.get_topic_info()) == len(topic_model.get_topic_info())",
    ),
)

# ------------------------------------------------ 002: Topic Modeling with BERT (built by hand)
_REBUILT = "the seed's copy has no code left; rebuilt from its prose"
S002 = (
    Step(
        "002",
        1,
        "20 Newsgroups",
        "",
        code="""from sklearn.datasets import fetch_20newsgroups
data = fetch_20newsgroups(subset='all')['data']""",
        text="reconstructed",
        note=_REBUILT + " ('Using Scikit-Learn, we can quickly download and prepare the data')",
        expect="len(data) > 0",
    ),
    Step(
        "002",
        2,
        "sentence-transformers embeddings",
        "",
        code="""from sentence_transformers import SentenceTransformer
model = SentenceTransformer('distilbert-base-nli-mean-tokens')
embeddings = model.encode(data, show_progress_bar=True)""",
        text="reconstructed",
        note=_REBUILT
        + " ('pip install sentence-transformers'; the model is the original article's)",
        expect="embeddings.shape[0] == len(data)",
    ),
    Step(
        "002",
        3,
        "UMAP to 5 dimensions, 15 neighbours",
        "",
        code="""import umap
umap_embeddings = umap.UMAP(n_neighbors=15, n_components=5, metric='cosine').fit_transform(embeddings)""",
        text="reconstructed",
        note=_REBUILT
        + " ('We reduce the dimensionality to 5 while keeping the size of the local neighborhood at 15')",
        expect="umap_embeddings.shape == (len(data), 5)",
    ),
    Step(
        "002",
        4,
        "HDBSCAN clusters",
        "",
        code="""import hdbscan
cluster = hdbscan.HDBSCAN(min_cluster_size=15, metric='euclidean', cluster_selection_method='eom').fit(umap_embeddings)""",
        text="reconstructed",
        note=_REBUILT + " ('pip install hdbscan then create the clusters')",
        expect="len(set(cluster.labels_)) > 1",
    ),
    Step(
        "002",
        5,
        "one document per cluster",
        "",
        code="""import pandas as pd
docs_df = pd.DataFrame(data, columns=["Doc"])
docs_df['Topic'] = cluster.labels_
docs_df['Doc_ID'] = range(len(docs_df))
docs_per_topic = docs_df.groupby(['Topic'], as_index = False).agg({'Doc': ' '.join})""",
        text="reconstructed",
        note=_REBUILT
        + " ('we need to first create a single document for each cluster of documents')",
    ),
    Step(
        "002",
        6,
        "class-based TF-IDF",
        "",
        code="""import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

def c_tf_idf(documents, m, ngram_range=(1, 1)):
    count = CountVectorizer(ngram_range=ngram_range, stop_words="english").fit(documents)
    t = count.transform(documents).toarray()
    w = t.sum(axis=1)
    tf = np.divide(t.T, w)
    sum_t = t.sum(axis=0)
    idf = np.log(np.divide(m, sum_t)).reshape(-1, 1)
    tf_idf = np.multiply(tf, idf)

    return tf_idf, count

tf_idf, count = c_tf_idf(docs_per_topic.Doc.values, m=len(data))""",
        text="reconstructed",
        note=_REBUILT + " ('we apply the class-based TF-IDF by joining documents within a class')",
    ),
    Step(
        "002",
        7,
        "top 20 words and topic sizes",
        "",
        code="""def extract_top_n_words_per_topic(tf_idf, count, docs_per_topic, n=20):
    words = count.get_feature_names()
    labels = list(docs_per_topic.Topic)
    tf_idf_transposed = tf_idf.T
    indices = tf_idf_transposed.argsort()[:, -n:]
    top_n_words = {label: [(words[j], tf_idf_transposed[i][j]) for j in indices[i]][::-1] for i, label in enumerate(labels)}
    return top_n_words

def extract_topic_sizes(df):
    topic_sizes = (df.groupby(['Topic'])
                     .Doc
                     .count()
                     .reset_index()
                     .rename({"Topic": "Topic", "Doc": "Size"}, axis='columns')
                     .sort_values("Size", ascending=False))
    return topic_sizes

top_n_words = extract_top_n_words_per_topic(tf_idf, count, docs_per_topic, n=20)
topic_sizes = extract_topic_sizes(docs_df); topic_sizes.head(10)""",
        text="reconstructed",
        note=_REBUILT
        + " ('we take the top 20 words per topic'; 'We can use topic_sizes'); `get_feature_names` is the article's (scikit-learn < 1.2)",
        expect="len(top_n_words) == len(topic_sizes)",
    ),
    Step(
        "002",
        8,
        "words of the largest topic",
        "",
        code="top_n_words[topic_sizes.Topic[topic_sizes.Topic != -1].iloc[0]][:10]",
        text="reconstructed",
        note=_REBUILT + " ('we can simply use the dictionary top_n_words to access these topics')",
        expect="len(_) == 10",
    ),
)

# ------------------------------------------------------------------- 003: support tickets
S003 = (
    Step("003", 1, "pip install bertopic[...]", "pip install bertopic[openai]", skip=SHELL),
    Step("003", 2, "import BERTopic", "from bertopic import BERTopic"),
    Step(
        "003",
        3,
        "the tickets",
        """docs = [
"My invoice shows a charge I did not authorize this month",
"I was billed twice for the same subscription, please refund",
"The app crashes every time I open the reports page",
"Reports tab freezes and then the application closes",
"How do I reset my password? The reset email never arrives",
"I cannot log in, the password reset link is broken",
"Can you explain the difference between the Pro and Team plans?",
"What features are included in the Team plan pricing?",
# ... thousands more in practice
]""",
        expect="len(docs) > 8",
    ),
    Step(
        "003",
        4,
        "BERTopic()",
        "topicmodel = BERTopic()",
        code="topic_model = BERTopic()",
        text="repaired",
        note="the copy dropped every underscore (topicmodel, fittransform, gettopicinfo, gettopic)",
    ),
    Step(
        "003",
        5,
        "fit_transform",
        "topics, probs = topicmodel.fittransform(docs)",
        code="topics, probs = topic_model.fit_transform(docs)",
        text="repaired",
        note="underscores restored",
        expect="len(topics) == len(docs) and np.shape(probs) == (len(docs),)",
    ),
    Step(
        "003",
        6,
        "get_topic_info",
        'info = topicmodel.gettopicinfo()\nprint(info[["Topic", "Count", "Name"]])',
        code='info = topic_model.get_topic_info()\nprint(info[["Topic", "Count", "Name"]])',
        text="repaired",
        note="underscores restored",
        expect="isinstance(info, pd.DataFrame) and len(info) > 1",
    ),
    Step(
        "003",
        7,
        "get_topic(0)",
        "print(topicmodel.gettopic(0))",
        code="print(topic_model.get_topic(0))",
        text="repaired",
        note="underscores restored",
        expect="isinstance(topic_model.get_topic(0), list)",
    ),
)

# ------------------------------------------------------------------------ 004: the README
_IMPORT = Step("004", 3, "import BERTopic", "from bertopic import BERTopic")
_LOAD = Step(
    "004",
    4,
    "20 Newsgroups",
    """from sklearn.datasets import fetch_20newsgroups

docs = fetch_20newsgroups(subset='all',  remove=('headers', 'footers', 'quotes'))['data']""",
    expect="len(docs) > 0 and all(isinstance(d, str) for d in docs)",
)
_MODEL = Step("004", 5, "BERTopic()", "topic_model = BERTopic()")
_FIT = Step(
    "004",
    6,
    "fit_transform",
    "topics, probs = topic_model.fit_transform(docs)",
    expect="len(topics) == len(docs) and np.shape(probs) == (len(docs),)",
)

S004_QUICK = (
    Step("004", 1, "pip install bertopic", "pip install bertopic", skip=SHELL),
    Step(
        "004",
        2,
        "pip install bertopic[extras]",
        """# Choose an embedding backend
pip install bertopic[flair, gensim, spacy, use]

# Topic modeling with images
pip install bertopic[vision]""",
        skip=SHELL,
    ),
    _IMPORT,
    _LOAD,
    _MODEL,
    _FIT,
    Step("004", 7, "get_topic_info", ">>> topic_model.get_topic_info()", expect=TOPIC_INFO),
    Step("004", 8, "get_topic(0)", ">>> topic_model.get_topic(0)", expect=KEYWORDS),
    Step(
        "004",
        9,
        "get_document_info(docs)",
        ">>> topic_model.get_document_info(docs)",
        expect='isinstance(_, pd.DataFrame) and len(_) == len(docs) and {"Document", "Topic", "Name", "Top_n_words", "Probability", "Representative_document"} <= set(_.columns)',
    ),
    _prose(
        "004",
        10,
        'BERTopic(language="multilingual")',
        'BERTopic(language="multilingual")',
        expect="",
    ),
)

S004_REPRESENT = (
    Step(
        "004", 11, "import KeyBERTInspired", "from bertopic.representation import KeyBERTInspired"
    ),
    Step(
        "004",
        12,
        "BERTopic(representation_model=KeyBERTInspired())",
        """# Fine-tune your topic representations
representation_model = KeyBERTInspired()
topic_model = BERTopic(representation_model=representation_model)""",
    ),
    Step(
        "004",
        13,
        "fit with KeyBERTInspired",
        "",
        code="topics, probs = topic_model.fit_transform(docs)\ntopic_model.get_topic(0)",
        text="follow-up",
        expect=KEYWORDS,
    ),
    Step("004", 14, "import openai", "import openai"),
    Step(
        "004", 15, "import the OpenAI representation", "from bertopic.representation import OpenAI"
    ),
    Step(
        "004",
        16,
        "openai.OpenAI client",
        '# Fine-tune topic representations with GPT\nclient = openai.OpenAI(api_key="sk-...")',
    ),
    Step(
        "004",
        17,
        "BERTopic(representation_model=OpenAI(client, ...))",
        """representation_model = OpenAI(client, model="gpt-3.5-turbo", chat=True)
topic_model = BERTopic(representation_model=representation_model)""",
    ),
    Step(
        "004",
        18,
        "fit with the OpenAI representation",
        "",
        code="topics, probs = topic_model.fit_transform(docs)\ntopic_model.get_topic_info()",
        text="follow-up",
        llm=True,
        expect=TOPIC_INFO
        + " and all(isinstance(w, str) and w for w, _s in topic_model.get_topic(0)[:1])",
    ),
)


def _cell(n: int, cell: str, name: str = "", bind: str = "", **kw) -> Step:
    code = ("topic_model" + cell) if cell.startswith(".") else cell
    return Step(
        "004",
        n,
        name or cell.lstrip("."),
        cell,
        code=f"{bind} = {code}" if bind else code,
        text="cell",
        **kw,
    )


_ATTRIBUTE = "_ is not None"
S004_TABLES = (
    # "Below, you will find an overview of common functions in BERTopic."
    _cell(19, ".fit(docs)", expect="_ is topic_model"),
    _cell(20, ".fit_transform(docs)", expect="len(_) == 2 and len(_[0]) == len(docs)"),
    _cell(21, ".transform([new_doc])", given=("new_doc",), expect="len(_) == 2 and len(_[0]) == 1"),
    _cell(22, ".get_topic(topic=12)", expect="_ is False or isinstance(_, list)"),
    _cell(23, ".get_topics()", expect="isinstance(_, dict) and len(_) > 1"),
    _cell(
        24,
        ".get_topic_freq()",
        expect='isinstance(_, pd.DataFrame) and {"Topic", "Count"} <= set(_.columns)',
    ),
    _cell(25, ".get_topic_info()", expect=TOPIC_INFO),
    _cell(
        26, ".get_document_info(docs)", expect="isinstance(_, pd.DataFrame) and len(_) == len(docs)"
    ),
    _cell(27, ".get_representative_docs()", expect="isinstance(_, dict) and len(_) > 0"),
    _cell(28, ".update_topics(docs, n_gram_range=(1, 3))"),
    _cell(
        29,
        ".generate_topic_labels()",
        expect="isinstance(_, list) and all(isinstance(x, str) for x in _)",
    ),
    _cell(30, ".set_topic_labels(my_custom_labels)", given=("my_custom_labels",)),
    _cell(31, ".merge_topics(docs, topics_to_merge)", given=("topics_to_merge",)),
    _cell(32, ".reduce_topics(docs, nr_topics=30)"),
    _cell(33, ".reduce_outliers(docs, topics)", expect="len(_) == len(docs)"),
    _cell(34, '.find_topics("vehicle")', expect="len(_) == 2 and len(_[0]) == len(_[1]) > 0"),
    _cell(35, '.save("my_model", serialization="safetensors")'),
    _cell(36, 'BERTopic.load("my_model")', expect="isinstance(_, BERTopic)"),
    _cell(37, ".get_params()", expect="isinstance(_, dict)"),
    # "After having trained your BERTopic model, several are saved within your model."
    _cell(38, ".topics_", expect="len(_) == len(docs)"),
    _cell(39, ".probabilities_", expect="len(_) == len(docs)"),
    _cell(40, ".topic_sizes_", expect="len(_) > 0"),
    _cell(41, ".topic_mapper_", expect=_ATTRIBUTE),
    _cell(42, ".topic_representations_", expect="isinstance(_, dict) and len(_) > 0"),
    _cell(43, ".c_tf_idf_", expect="_.shape[0] > 1"),
    _cell(44, ".topic_aspects_", expect=_ATTRIBUTE),
    _cell(45, ".topic_labels_", expect="isinstance(_, dict) and len(_) > 0"),
    _cell(46, ".custom_labels_", expect=_ATTRIBUTE),
    _cell(47, ".topic_embeddings_", expect="len(_) > 0"),
    _cell(48, ".representative_docs_", expect="isinstance(_, dict) and len(_) > 0"),
    # "several variations of BERTopic have been developed"
    _cell(
        49,
        ".approximate_distribution(docs)",
        name="approximate_distribution (topic distribution approximation)",
        expect="len(_) == 2 and len(_[0]) == len(docs)",
    ),
    Step(
        "004",
        50,
        "partial_fit (online)",
        ".partial_fit(doc)",
        code="""from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import IncrementalPCA
from bertopic.vectorizers import OnlineCountVectorizer

online_model = BERTopic(
    umap_model=IncrementalPCA(n_components=5),
    hdbscan_model=MiniBatchKMeans(n_clusters=50, random_state=0),
    vectorizer_model=OnlineCountVectorizer(stop_words="english", decay=.01),
)
online_model.partial_fit(doc)""",
        text="cell",
        note="run on the model of BERTopic's online topic modeling guide (IncrementalPCA, "
        "MiniBatchKMeans, OnlineCountVectorizer), imports changed as every step's: partial_fit "
        "needs incremental components, and BERTopic 0.17.4 refuses the README's default model too",
        given=("doc",),
        expect="_ is online_model and len(online_model.topics_) == len(doc) and "
        "len(online_model.get_topic_info()) > 1",
    ),
    _cell(
        51, ".fit(docs, y=y)", name="fit(docs, y=y) semi-supervised", given=("y (semi-supervised)",)
    ),
    _cell(52, ".fit(docs, y=y)", name="fit(docs, y=y) supervised", given=("y (supervised)",)),
    _cell(53, ".fit(docs, y=y)", name="fit(docs, y=y) manual", given=("y (supervised)",)),
    _cell(
        54,
        ".fit(docs, images=images)",
        name="fit(docs, images=images) multimodal",
        given=("images",),
        expect="_ is topic_model and topic_model.modality_ == 'both'",
    ),
    _cell(
        55,
        ".topics_per_class(docs, classes)",
        bind="topics_per_class",
        given=("classes",),
        expect='isinstance(_, pd.DataFrame) and {"Topic", "Words", "Frequency", "Class"} <= set(_.columns)',
    ),
    _cell(
        56,
        ".topics_over_time(docs, timestamps)",
        bind="topics_over_time",
        given=("timestamps",),
        expect='isinstance(_, pd.DataFrame) and {"Topic", "Words", "Frequency", "Timestamp"} <= set(_.columns)',
    ),
    _cell(
        57,
        ".hierarchical_topics(docs)",
        bind="hierarchical_topics",
        expect='isinstance(_, pd.DataFrame) and {"Parent_ID", "Child_Left_ID", "Child_Right_ID"} <= set(_.columns)',
    ),
    _cell(
        58,
        "BERTopic(seed_topic_list=seed_topic_list)",
        name="BERTopic(seed_topic_list) guided",
        bind="guided_model",
        given=("seed_topic_list",),
    ),
    Step(
        "004",
        59,
        "fit the guided model",
        "",
        code="guided_model.fit(docs).get_topic_info()",
        text="follow-up",
        expect=TOPIC_INFO,
    ),
    _cell(
        60,
        "BERTopic(zeroshot_topic_list=zeroshot_topic_list)",
        name="BERTopic(zeroshot_topic_list) zero-shot",
        bind="zeroshot_model",
        given=("zeroshot_topic_list",),
    ),
    Step(
        "004",
        61,
        "fit the zero-shot model",
        "",
        code="zeroshot_model.fit(docs).get_topic_info()",
        text="follow-up",
        expect=TOPIC_INFO,
    ),
    _cell(
        62,
        "BERTopic.merge_models([topic_model_1, topic_model_2])",
        name="BERTopic.merge_models",
        given=("topic_model_1, topic_model_2",),
        expect="isinstance(_, BERTopic) and len(_.get_topic_info()) > 1",
    ),
    # "Visualizing different aspects of the topic model helps in understanding the model"
    _cell(63, ".visualize_topics()", expect=FIGURE),
    _cell(64, ".visualize_documents()", expect=FIGURE),
    _cell(65, ".visualize_document_datamap()", expect=FIGURE),
    _cell(66, ".visualize_hierarchical_documents()", expect=FIGURE),
    _cell(67, ".visualize_hierarchy()", expect=FIGURE),
    _cell(68, ".get_topic_tree(hierarchical_topics)", expect="isinstance(_, str) and len(_) > 0"),
    _cell(69, ".visualize_barchart()", expect=FIGURE),
    _cell(70, ".visualize_heatmap()", expect=FIGURE),
    _cell(71, ".visualize_term_rank()", expect=FIGURE),
    _cell(72, ".visualize_distribution(probs[0])", expect=FIGURE),
    _cell(73, ".visualize_topics_over_time(topics_over_time)", expect=FIGURE),
    _cell(74, ".visualize_topics_per_class(topics_per_class)", expect=FIGURE),
)

SCENARIOS = (
    Scenario("000 Reddit posts", S000),
    Scenario("001 Amazon reviews", S001),
    Scenario("002 by hand", S002),
    Scenario("003 support tickets", S003),
    Scenario("004 quick start", S004_QUICK),
    Scenario("004 representations", S004_REPRESENT, setup=(_IMPORT, _LOAD)),
    Scenario("004 API tables", S004_TABLES, setup=(_IMPORT, _LOAD, _MODEL, _FIT)),
)
STEPS = tuple(step for scenario in SCENARIOS for step in scenario.steps)
