"""Image embeddings for multimodal topics: the `ImageEmbedder` protocol, labeler's own offline
image features, CLIP through sentence-transformers or open_clip, and the fit's vectors.

labeler opens every image itself (`open_image`: Pillow, RGB, downscaled to at most
`OPEN_PX` pixels a side), so an embedder only turns decoded images into vectors, and a missing,
unreadable or damaged file is one count in one warning, never a crash inside a model.

Image models, by spec (`image_model=`, `--image-model`):

- `features` (the default; offline, no weights): `ColourTextureEmbedder`, a deterministic
  NumPy feature vector: a joint CIELAB colour histogram, a gradient orientation histogram on a
  2×2 grid and a gradient strength histogram (180 numbers, unit length);
- `clip-ViT-B-32` or any other sentence-transformers id or path: the model's image encoder
  (`SentenceTransformer.encode` on images), when its weights are on this machine;
- `open_clip:ARCH/PRETRAINED` (e.g. `open_clip:ViT-B-32/laion2b_s34b_b79k`): open_clip's
  image tower, when open_clip and its weights are installed.

How text and image vectors make one vector per document (`combine`): each is unit-normalised
and the two are concatenated, each scaled by 1/√2, so the cosine similarity of two documents is
the mean of their text and image cosines (the text and image models' dimensions need not
match). A document without a usable image keeps its text vector and zeros for the image part.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from labeler.errors import LabelerError, printable

log = logging.getLogger("labeler")

MODALITIES = ("text", "image", "both")
FEATURES = "features"
OPEN_PX = 512  # images are decoded downscaled to at most this many pixels a side
BATCH = 64  # images decoded and embedded at a time (memory stays flat)


@runtime_checkable
class ImageEmbedder(Protocol):
    """Anything that turns decoded RGB images (PIL) into vectors, rows aligned with the input."""

    @property
    def key(self) -> str:
        """A stable identifier of the model (recorded in the run's config)."""
        ...

    def embed_images(self, images: Sequence, show_progress: bool = False) -> np.ndarray: ...


# ------------------------------------------------------------------------------ reading
def open_image(path: str | Path):
    """The image at `path`, decoded, RGB, at most OPEN_PX a side; OSError/ValueError (Pillow's
    own, a decompression bomb included) when it is missing or not an image."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (OPEN_PX, OPEN_PX))  # JPEG: decode at a reduced scale
        image = image.convert("RGB")
    if max(image.size) > OPEN_PX:
        image.thumbnail((OPEN_PX, OPEN_PX), Image.Resampling.BILINEAR)
    return image


def check_image_paths(images: Sequence, n_documents: int) -> list[str | None]:
    """`fit`'s `images`: one path (str or Path) or None per document."""
    if isinstance(images, (str, bytes, Path)):
        raise LabelerError("images is a list of paths, one per document, not one path")
    images = list(images)
    if len(images) != n_documents:
        raise LabelerError(
            f"images has {len(images)} entries for {n_documents} documents: give one path "
            "(or None) per document"
        )
    paths: list[str | None] = []
    for value in images:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            paths.append(None)
        elif isinstance(value, (str, Path)):
            paths.append(str(value) if str(value).strip() else None)
        else:
            raise LabelerError(
                f"images holds paths to image files (str or Path), not {type(value).__name__}"
            )
    if all(p is None for p in paths):
        raise LabelerError("images holds no path: give one image path (or None) per document")
    return paths


def embed_image_paths(
    embedder: ImageEmbedder, paths: Sequence[str | None], show_progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, usable): one unit row per path (zeros where there is no usable image) and which
    rows have one. A missing or unreadable file is counted (one warning for them all, naming a
    few); every path failing is an error."""
    usable = np.zeros(len(paths), dtype=bool)
    failed: list[str] = []
    rows: list[int] = []
    blocks: list[np.ndarray] = []
    batch_rows: list[int] = []
    batch: list = []

    def flush() -> None:
        if batch:
            vectors = np.asarray(embedder.embed_images(batch), dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(batch):
                raise LabelerError(
                    f"image model {embedder.key!r} gave shape {vectors.shape} for "
                    f"{len(batch)} images: one row per image was expected"
                )
            blocks.append(vectors)
            rows.extend(batch_rows)
            batch.clear()
            batch_rows.clear()

    given = [i for i, p in enumerate(paths) if p is not None]
    progress = None
    if show_progress and given:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(given), desc="images", unit="image")
    for i in given:
        try:
            batch.append(open_image(paths[i]))
            batch_rows.append(i)
        except Exception:  # noqa: BLE001 - any unreadable image is counted, never fatal
            failed.append(Path(paths[i]).name)
        if progress is not None:
            progress.update(1)
        if len(batch) >= BATCH:
            flush()
    flush()
    if progress is not None:
        progress.close()
    if given and not rows:
        raise LabelerError(
            f"none of the {len(given)} images could be read (missing or not an image, e.g. "
            f"{printable(failed[0])}): check the image paths"
        )
    if failed:
        log.warning(
            "%d of %d images could not be read (missing or not an image, e.g. %s): those "
            "documents are kept as text only",
            len(failed), len(given), ", ".join(printable(f) for f in failed[:3]),
        )  # fmt: skip
    dim = blocks[0].shape[1] if blocks else 1
    out = np.zeros((len(paths), dim), dtype=np.float32)
    if rows:
        out[rows] = _unit(np.vstack(blocks))
        usable[rows] = True
    if not np.isfinite(out).all():
        raise LabelerError(f"image model {embedder.key!r} gave NaN or infinite values")
    return out, usable


def combine(
    text: np.ndarray | None, image: np.ndarray, usable: np.ndarray, modality: str
) -> np.ndarray:
    """One vector per document for clustering (see the module docstring): `image` alone
    (text-only documents: their text vector, beside zeros), or both halves scaled by 1/√2."""
    if modality not in ("image", "both"):
        raise LabelerError(f"modality is one of {', '.join(MODALITIES)}, not {modality!r}")
    image = _unit(np.asarray(image, dtype=np.float32)) * usable[:, None]
    if text is None:
        if not usable.all():
            raise LabelerError("every document needs a usable image when there is no text")
        return image
    text = _unit(np.asarray(text, dtype=np.float32))
    if modality == "image":
        text = text * ~usable[:, None]  # the text half only where the image is missing
        return np.hstack([text, image]).astype(np.float32)
    scale = np.where(usable, 1 / math.sqrt(2), 1.0).astype(np.float32)[:, None]
    return np.hstack([text * scale, image * scale]).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


# ------------------------------------------------------------------------------ models
def make_image_embedder(spec) -> ImageEmbedder:
    """The image embedder `spec` names (see the module docstring), or `spec` itself when it is
    one already; loads nothing until it embeds."""
    if spec is None:
        spec = FEATURES
    if not isinstance(spec, str):
        if not (hasattr(spec, "embed_images") and hasattr(spec, "key")):
            raise LabelerError(
                f"image_model: {type(spec).__name__} has no embed_images(images) and key "
                "(labeler.embedding.images.ImageEmbedder)"
            )
        return spec
    name = spec.strip()
    if not name:
        raise LabelerError("the image model is empty: 'features', a CLIP model or open_clip:...")
    if name.lower() == FEATURES or name.lower().startswith(FEATURES + "-v"):
        return ColourTextureEmbedder()
    if name.startswith("open_clip:"):
        return OpenClipEmbedder(name[len("open_clip:") :])
    return SentenceTransformerImageEmbedder(name)


class ColourTextureEmbedder:
    """labeler's offline image features (no weights): colour and texture, deterministic.

    The image is resized to 64×64 (bilinear) and converted to CIELAB (D65); the vector is a
    joint L×a×b histogram (4×6×6 bins, lightly smoothed), a gradient orientation histogram (8
    unsigned directions, weighted by strength) on a 2×2 grid, and a gradient strength
    histogram (4 bins), each square-rooted (Hellinger) and unit-normalised, weighted by
    squared length 0.6/0.25/0.15. Similar colours and similar stripes or edges make similar
    vectors; it knows nothing of objects (that is what CLIP adds)."""

    SIZE = 64
    WEIGHTS = (0.6, 0.25, 0.15)  # colour, orientation, strength (squared lengths)
    key = "features-v1"

    def embed_images(self, images: Sequence, show_progress: bool = False) -> np.ndarray:
        return np.vstack([self.features(image) for image in images]).astype(np.float32)

    def features(self, image) -> np.ndarray:
        from PIL import Image
        from scipy import ndimage

        small = image.convert("RGB").resize((self.SIZE, self.SIZE), Image.Resampling.BILINEAR)
        rgb = np.asarray(small, dtype=np.float64) / 255.0
        lab = srgb_to_lab(rgb)
        counts = np.histogramdd(
            lab.reshape(-1, 3), bins=(4, 6, 6), range=((0, 100), (-80, 80), (-80, 80))
        )[0]
        # Neighbouring bins share a little: near colours on either side of a bin edge agree.
        colour = _hellinger(ndimage.gaussian_filter(counts, 0.6, mode="constant").ravel())
        light = lab[..., 0]
        gy, gx = np.gradient(light)
        strength = np.hypot(gx, gy)
        angle = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned: a stripe and its mirror agree
        bins = np.minimum((angle / np.pi * 8).astype(int), 7)
        half = self.SIZE // 2
        cells = []
        for r in (slice(0, half), slice(half, None)):
            for c in (slice(0, half), slice(half, None)):
                cells.append(np.bincount(bins[r, c].ravel(), strength[r, c].ravel(), 8))
        orientation = _hellinger(np.concatenate(cells))
        levels = np.histogram(strength, bins=(0, 1, 4, 16, np.inf))[0].astype(np.float64)
        magnitude = _hellinger(levels)
        parts = [math.sqrt(w) * v for w, v in zip(self.WEIGHTS, (colour, orientation, magnitude))]
        vector = np.concatenate(parts)
        return vector / max(np.linalg.norm(vector), 1e-12)


def _hellinger(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total <= 0:
        return np.zeros_like(counts, dtype=np.float64)
    return np.sqrt(counts / total)  # unit length: the square roots of shares summing to 1


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) → CIELAB (D65), the perceptual colour space of the features."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [[0.4124564, 0.3575761, 0.1804375],
         [0.2126729, 0.7151522, 0.0721750],
         [0.0193339, 0.1191920, 0.9503041]]
    )  # fmt: skip
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    eps = 216 / 24389
    f = np.where(xyz > eps, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def _absent(name: str, exc: BaseException, hint: str) -> LabelerError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return LabelerError(
        f"cannot load image model {printable(name)}: {first} ({hint}; or use --image-model "
        "features, labeler's offline image features)"
    )


class SentenceTransformerImageEmbedder:
    """A sentence-transformers model with an image encoder (CLIP: `clip-ViT-B-32`)."""

    def __init__(self, name: str, device: str | None = None, batch_size: int = 32):
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def key(self) -> str:
        return f"st-image:{self.name}"

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.name, device=self.device)
            except Exception as exc:  # noqa: BLE001 - absent weights offline, a bad id, ...
                raise _absent(
                    self.name, exc,
                    "its weights must be on this machine: download them once with network, "
                    "or give a local path",
                ) from exc  # fmt: skip
        return self._model

    def embed_images(self, images: Sequence, show_progress: bool = False) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            list(images), batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=show_progress,
        )  # fmt: skip
        return np.asarray(vectors, dtype=np.float32)


class OpenClipEmbedder:
    """open_clip's image tower: `ARCH/PRETRAINED` (e.g. `ViT-B-32/laion2b_s34b_b79k`)."""

    def __init__(self, name: str, device: str | None = None):
        arch, _, pretrained = name.partition("/")
        if not arch or not pretrained:
            raise LabelerError(
                f"an open_clip image model is open_clip:ARCH/PRETRAINED, not open_clip:{name}"
            )
        self.arch, self.pretrained, self.device = arch, pretrained, device or "cpu"
        self._loaded = None

    @property
    def key(self) -> str:
        return f"open_clip:{self.arch}/{self.pretrained}"

    def _load(self):
        if self._loaded is None:
            try:
                import open_clip
            except ImportError as exc:
                raise _absent(self.key, exc, "pip install open_clip_torch") from exc
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.arch, pretrained=self.pretrained, device=self.device
                )
            except Exception as exc:  # noqa: BLE001 - absent weights offline, unknown names
                raise _absent(self.key, exc, "its weights must be on this machine") from exc
            model.eval()
            self._loaded = (model, preprocess)
        return self._loaded

    def embed_images(self, images: Sequence, show_progress: bool = False) -> np.ndarray:
        import torch

        model, preprocess = self._load()
        with torch.no_grad():
            batch = torch.stack([preprocess(image) for image in images]).to(self.device)
            vectors = model.encode_image(batch).float().cpu().numpy()
        return _unit(vectors)


def exemplar_rows(
    vectors: np.ndarray, usable: np.ndarray, topics: np.ndarray, n: int
) -> dict[int, list[int]]:
    """Per topic, up to `n` rows with an image, nearest first to the centre of the topic's
    image vectors (ties: the earlier row): the images the report and the review app show."""
    found: dict[int, list[int]] = {}
    topics = np.asarray(topics)
    for topic in np.unique(topics):
        rows = np.flatnonzero((topics == topic) & usable)
        if len(rows) == 0:
            continue
        block = _unit(np.asarray(vectors[rows], dtype=np.float32))
        centre = block.mean(axis=0)
        score = block @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
        order = np.lexsort((rows, -np.round(score, 6)))
        found[int(topic)] = [int(rows[i]) for i in order[:n]]
    return found
