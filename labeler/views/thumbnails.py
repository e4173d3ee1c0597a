"""Image exemplars of a multimodal run's topics, as inline thumbnails (data: URIs).

The report stays one self-contained file and never names a local path: each exemplar is its
image decoded again by Pillow, downscaled to at most `THUMBNAIL_PX` a side and re-encoded as
JPEG, so nothing of the original file (its name, its metadata, a script in an SVG) reaches the
page. Exemplars are the images nearest the centre of each topic's image vectors
(`labeler.embedding.images.exemplar_rows`), from the run's `image_embeddings.npy` and the `image`
column of documents.parquet, so they follow the topics after a merge or split. An image that is
gone since the fit is left out.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from labeler import defaults
from labeler.embedding.images import exemplar_rows, open_image
from labeler.run.folder import Run
from labeler.run.layout import DOCUMENTS, IMAGE_EMBEDDINGS

log = logging.getLogger("labeler")


def has_images(run: Run) -> bool:
    return (run.path / IMAGE_EMBEDDINGS).is_file() and "image" in set(
        pq.read_schema(run.path / DOCUMENTS).names
    )


def topic_thumbnails(
    run: Run, n: int = defaults.N_IMAGE_EXEMPLARS, px: int = defaults.THUMBNAIL_PX
) -> dict[int, list[dict]]:
    """Per topic, up to `n` exemplars: {"src": data URI, "doc_id": the document's id}.
    Empty for a run without images."""
    if not has_images(run):
        return {}
    documents = pd.read_parquet(run.path / DOCUMENTS, columns=["doc_id", "topic", "image"])
    vectors = np.load(run.path / IMAGE_EMBEDDINGS, allow_pickle=False, mmap_mode="r")
    if vectors.ndim != 2 or len(vectors) != len(documents):
        log.warning("image_embeddings.npy does not match documents.parquet: no image exemplars")
        return {}
    usable = np.linalg.norm(np.asarray(vectors), axis=1) > 0
    topics = documents["topic"].to_numpy(dtype=np.int64)
    # A few spare rows per topic stand in for images gone since the fit.
    rows = exemplar_rows(vectors, usable, topics, 2 * n)
    paths, ids = documents["image"].tolist(), documents["doc_id"].tolist()
    found: dict[int, list[dict]] = {}
    for topic, picked in rows.items():
        shown = []
        for i in picked:
            src = thumbnail(paths[i], px)
            if src:
                shown.append({"src": src, "doc_id": _plain(ids[i])})
            if len(shown) == n:
                break
        found[topic] = shown
    return found


def thumbnail(path, px: int = defaults.THUMBNAIL_PX) -> str | None:
    """`path`'s image as a JPEG data URI of at most `px` a side, or None when it is unreadable."""
    if not isinstance(path, str) or not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _thumbnail(path, px, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2048)
def _thumbnail(path: str, px: int, mtime_ns: int, size: int) -> str | None:
    """Cached per file version (the review app renders the same topic many times)."""
    from PIL import Image

    try:
        image = open_image(path)
        image.thumbnail((px, px), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80, optimize=True)
    except Exception:  # noqa: BLE001 - gone or damaged since the fit: left out
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
