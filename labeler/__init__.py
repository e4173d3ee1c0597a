"""labeler: turn a corpus of text into a reviewed, shareable topic report."""

__version__ = "0.1.0"

from labeler.errors import LabelerError  # noqa: E402
from labeler.model import TopicModel  # noqa: E402
from labeler.store import load_run, save  # noqa: E402

__all__ = ["LabelerError", "TopicModel", "load_run", "save", "__version__"]
