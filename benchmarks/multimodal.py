"""Multimodal topics on a synthetic image corpus (issue 23 item 5), by hand, not in CI.

The corpus is made here with Pillow: red-ish, blue-ish and striped images (the image kind),
each captioned from one of two text topics (cooking, sport) chosen independently of the kind.
labeler fits it three times, with `modality` "image", "text" and "both" (labeler's offline image
features, `image_model="features"`, and the packaged MiniLM for the captions), and each fit's
topics are scored by ARI against the image kind, the caption topic, and the pair of both (6
groups). The time per image is labeler's feature extraction (decoding included). BERTopic's
multimodal backend needs CLIP weights, which are not available offline, so BERTopic's row is
its text-only fit on the same caption embeddings (`--bertopic PYTHON`).

    python benchmarks/multimodal.py                       # 300 documents
    python benchmarks/multimodal.py --n 600 --bertopic /work/bt-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COOKING = [
    "fresh bread baked with flour butter and yeast", "slow cooked tomato soup with basil",
    "chocolate cake recipe with eggs and sugar", "roast chicken with garlic and lemon",
    "pasta with a creamy mushroom sauce", "homemade pizza dough rested overnight",
    "grilled vegetables with olive oil and herbs", "apple pie with cinnamon and a crisp crust",
]  # fmt: skip
SPORT = [
    "the striker scored twice in the football final", "tennis champion wins the open",
    "marathon runners crossed the finish line", "basketball team clinches the league title",
    "goalkeeper saves a penalty in extra time", "cyclists climb the mountain stage",
    "the swimmer broke the world record", "rugby match ends in a dramatic draw",
]  # fmt: skip


def make_image(kind: int, rng: np.random.Generator) -> Image.Image:
    if kind == 2:
        image = Image.new("RGB", (96, 96), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        period = int(rng.integers(8, 16))
        for x in range(-96, 192, period):
            draw.line([(x, 0), (x + 30, 96)], fill=(20, 20, 20), width=period // 2)
        return image
    base = np.array([205, 45, 45] if kind == 0 else [45, 65, 205]) + rng.integers(-25, 25, 3)
    pixels = np.clip(base + rng.normal(0, 12, (96, 96, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def make_corpus(folder: Path, n: int, seed: int):
    rng = np.random.default_rng(seed)
    docs, paths, kinds, topics = [], [], [], []
    for i in range(n):
        kind, topic = int(rng.integers(3)), int(rng.integers(2))
        path = folder / f"image-{i:04d}.png"
        make_image(kind, rng).save(path)
        caption = (COOKING if topic == 0 else SPORT)[int(rng.integers(8))]
        docs.append(f"{caption}, picture {i}")
        paths.append(str(path))
        kinds.append(kind)
        topics.append(topic)
    return docs, paths, np.array(kinds), np.array(topics)


BERTOPIC = """
import json, sys, time
import numpy as np
from bertopic import BERTopic
docs = json.load(open(sys.argv[1])); vectors = np.load(sys.argv[2])
from umap import UMAP
def fit():
    model = BERTopic(min_topic_size=int(sys.argv[3]), umap_model=UMAP(
        n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42))
    return model.fit_transform(docs, vectors)[0]
fit()  # warm-up: numba's JIT
started = time.perf_counter()
topics = fit()
print(json.dumps({"topics": [int(t) for t in topics], "seconds": time.perf_counter() - started}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="documents (and images)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-cluster-size", type=int, default=20, help="for every fit")
    parser.add_argument("--bertopic", help="a Python that imports bertopic: its text-only row")
    args = parser.parse_args()

    from sklearn.metrics import adjusted_rand_score

    from labeler import TopicModel
    from labeler.embedding.images import ColourTextureEmbedder, embed_image_paths

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        docs, paths, kinds, captions = make_corpus(folder, args.n, args.seed)
        pairs = kinds * 2 + captions
        clock = time.perf_counter()
        embed_image_paths(ColourTextureEmbedder(), paths)
        per_image = (time.perf_counter() - clock) / len(paths)
        vectors = TopicModel(use_cache=False).embed(docs)  # loads the model before the timings

        def row(name: str, topics, seconds: float) -> str:
            topics = np.asarray(topics)
            found = len({int(t) for t in topics if t >= 0})
            scores = [adjusted_rand_score(truth, topics) for truth in (kinds, captions, pairs)]
            clustered = topics >= 0  # purity: each topic's commonest image kind, over its docs
            held = sum(np.bincount(kinds[topics == t]).max() for t in set(topics[clustered]))
            purity = held / max(int(clustered.sum()), 1)
            return (
                f"| {name} | {scores[0]:.3f} | {purity:.3f} | {scores[1]:.3f} | {scores[2]:.3f} "
                f"| {found} | {(topics < 0).mean():.1%} | {seconds:.2f} |"
            )

        lines = [
            f"Synthetic set: {args.n} documents, 3 image kinds × 2 caption topics (seed "
            f"{args.seed}); min cluster size {args.min_cluster_size}; ARI against each truth.",
            "",
            "| fit | ARI image kind | image-kind purity | ARI caption topic | ARI kind × topic "
            "| topics | outliers | fit s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        TopicModel(use_cache=False, seed=args.seed).fit(docs, vectors)  # warm-up: numba's JIT
        timings = {}
        for modality in ("image", "text", "both"):
            model = TopicModel(
                modality=modality, use_cache=False, seed=args.seed,
                min_cluster_size=args.min_cluster_size,
            )  # fmt: skip
            clock = time.perf_counter()
            model.fit(docs, vectors, images=paths)
            timings[modality] = time.perf_counter() - clock
            lines.append(row(f"labeler, modality={modality}", model.topics_, timings[modality]))
        if args.bertopic:
            (folder / "docs.json").write_text(json.dumps(docs))
            np.save(folder / "vectors.npy", vectors)
            done = subprocess.run(
                [args.bertopic, "-c", BERTOPIC, str(folder / "docs.json"),
                 str(folder / "vectors.npy"), str(args.min_cluster_size)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            lines.append(row("BERTopic 0.17.4, text", result["topics"], result["seconds"]))
            ratio = timings["both"] / result["seconds"]
            lines += ["", f"labeler `both` fit time / BERTopic text fit time: {ratio:.2f}"]
        lines += [
            "",
            f"Image features (labeler `features-v1`, decoding included): "
            f"{1000 * per_image:.2f} ms per image (96×96 PNG), "
            f"{1 / per_image:,.0f} images/s on this machine.",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
