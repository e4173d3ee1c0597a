"""Multimodal topics (issue 23 item 5) on a synthetic image corpus made here with Pillow:
red-ish, blue-ish and striped images, captioned from two text topics independent of the image
kind. labeler's offline image features (`image_model="features"`) embed them; the packaged
MiniLM embeds the captions."""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw
from review_server import ThreadServer

from labeler import TopicModel, load_run, save
from labeler.cli import main
from labeler.embedding.images import ColourTextureEmbedder, combine, open_image
from labeler.errors import LabelerError

N = 60  # 20 of each image kind; captions alternate between the two text topics
COOKING = [
    "fresh bread baked with flour butter and yeast", "slow cooked tomato soup with basil",
    "chocolate cake recipe with eggs and sugar", "roast chicken with garlic and lemon",
    "pasta with a creamy mushroom sauce", "homemade pizza dough rested overnight",
]  # fmt: skip
SPORT = [
    "the striker scored twice in the football final", "tennis champion wins the open",
    "marathon runners crossed the finish line", "basketball team clinches the league title",
    "goalkeeper saves a penalty in extra time", "cyclists climb the mountain stage",
]  # fmt: skip


def make_image(kind: int, rng: np.random.Generator) -> Image.Image:
    if kind == 2:  # black diagonal stripes on white
        image = Image.new("RGB", (64, 64), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        period = int(rng.integers(6, 12))
        for x in range(-64, 128, period):
            draw.line([(x, 0), (x + 20, 64)], fill=(20, 20, 20), width=period // 2)
        return image
    base = np.array([205, 45, 45] if kind == 0 else [45, 65, 205]) + rng.integers(-25, 25, 3)
    pixels = np.clip(base + rng.normal(0, 12, (64, 64, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("multimodal")
    (folder / "images").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N):
        kind, topic = i % 3, (i // 3) % 2
        name = f"images/photo-{i:03d}.png"
        make_image(kind, rng).save(folder / name)
        caption = (COOKING if topic == 0 else SPORT)[int(rng.integers(6))]
        rows.append({"id": f"d{i}", "text": f"{caption}, picture {i}", "image": name})
    path = folder / "photos.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["id", "text", "image"])
        writer.writeheader()
        writer.writerows(rows)
    kinds = np.array([i % 3 for i in range(N)])
    return {"folder": folder, "csv": path, "rows": rows, "kinds": kinds}


def paths(corpus) -> list[str]:
    return [str(corpus["folder"] / r["image"]) for r in corpus["rows"]]


def test_features_are_deterministic_and_tell_colour_from_stripes(corpus):
    embedder = ColourTextureEmbedder()
    images = [open_image(p) for p in paths(corpus)]
    first, again = embedder.embed_images(images), embedder.embed_images(images)
    assert np.array_equal(first, again)
    assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    kinds = corpus["kinds"]
    similarity = first @ first.T
    within = [similarity[np.ix_(kinds == k, kinds == k)].mean() for k in range(3)]
    across = [
        similarity[np.ix_(kinds == a, kinds == b)].mean() for a, b in ((0, 1), (0, 2), (1, 2))
    ]
    assert min(within) > 0.85 > 0.5 > max(across), (within, across)


def test_combined_vectors_average_the_two_cosines():
    rng = np.random.default_rng(1)
    text, image = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    usable = np.array([True, True, True, False])
    both = combine(text, image, usable, "both")
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    t, i = unit(text), unit(image)
    assert np.allclose(np.linalg.norm(both, axis=1), 1, atol=1e-6)
    assert np.isclose(both[0] @ both[1], (t[0] @ t[1] + i[0] @ i[1]) / 2, atol=1e-6)
    assert np.allclose(both[3], np.r_[t[3], np.zeros(3)], atol=1e-6)  # no image: its text
    only = combine(text, image, usable, "image")
    assert np.isclose(only[0] @ only[1], i[0] @ i[1], atol=1e-6)


def test_image_topics_separate_the_image_kinds(corpus):
    docs = [r["text"] for r in corpus["rows"]]
    model = TopicModel(modality="image", use_cache=False, seed=3).fit(docs, images=paths(corpus))
    kinds = corpus["kinds"]
    assert model.modality_ == "image" and model.has_image_.all()
    found = [t for t in model.topic_ids_ if t >= 0]
    assert len(found) >= 3
    for topic in found:  # every topic holds one kind of image
        counts = np.bincount(kinds[model.topics_ == topic], minlength=3)
        assert counts.max() >= 0.9 * counts.sum(), (topic, counts)
    dominant = {int(np.bincount(kinds[model.topics_ == t], minlength=3).argmax()) for t in found}
    assert dominant == {0, 1, 2}
    # The captions' topics are independent of the images: text alone does not find the kinds.
    text = TopicModel(modality="text", use_cache=False, seed=3).fit(docs, images=paths(corpus))
    assert text.modality_ == "text"
    from sklearn.metrics import adjusted_rand_score

    assert (
        adjusted_rand_score(kinds, model.topics_) > adjusted_rand_score(kinds, text.topics_) + 0.3
    )
    # Exemplars: images of the topic, nearest its image centre; kept by a saved run.
    topic = found[0]
    exemplars = model.representative_images_[topic]
    assert 0 < len(exemplars) <= 6
    members = {p for p, t in zip(paths(corpus), model.topics_) if t == topic}
    assert set(exemplars) <= members


def test_missing_image_warns_once_and_keeps_the_document(corpus, caplog, tmp_path):
    docs = [r["text"] for r in corpus["rows"]]
    images = paths(corpus)
    images[4] = str(tmp_path / "gone.png")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    images[7] = str(tmp_path / "broken.png")
    images[9] = None  # no image at all: not a failure
    with caplog.at_level(logging.WARNING, logger="labeler"):
        model = TopicModel(use_cache=False, seed=3).fit(docs, images=images)
    warnings = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("2 of 59 images"), warnings
    assert "text only" in warnings[0] and str(tmp_path) not in warnings[0]
    assert len(model.topics_) == N and model.modality_ == "both"
    assert list(np.flatnonzero(~model.has_image_)) == [4, 7, 9]
    assert not model.image_embeddings_[[4, 7, 9]].any()
    # Every image failing is an error, not a text-only fit in disguise.
    with pytest.raises(LabelerError, match="none of the 3 images could be read"):
        TopicModel(use_cache=False).fit(
            docs[:3], images=[str(tmp_path / "a.png"), str(tmp_path / "broken.png"), "b.jpg"]
        )
    with pytest.raises(LabelerError, match="one path .* per document"):
        TopicModel(use_cache=False).fit(docs, images=images[:5])
    with pytest.raises(LabelerError, match="holds no path"):
        TopicModel(use_cache=False).fit(docs[:2], images=[None, ""])
    with pytest.raises(LabelerError, match="not Image"):
        TopicModel(use_cache=False).fit(docs[:1], images=[Image.new("RGB", (4, 4))])
    with pytest.raises(LabelerError, match="needs images"):
        TopicModel(modality="image", use_cache=False).fit(docs)


def test_clip_without_weights_is_a_clear_error(corpus, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    docs = [r["text"] for r in corpus["rows"]]
    model = TopicModel(image_model="clip-ViT-B-32", use_cache=False)
    with pytest.raises(
        LabelerError, match="cannot load image model clip-ViT-B-32: .*--image-model features"
    ):
        model.fit(docs, images=paths(corpus))
    with pytest.raises(LabelerError, match="open_clip"):
        TopicModel(image_model="open_clip:ViT-B-32/laion2b_s34b_b79k", use_cache=False).fit(
            docs, images=paths(corpus)
        )


@pytest.fixture(scope="module")
def image_run(corpus, tmp_path_factory) -> Path:
    """`labeler run` over the CSV, relative image paths, one of them missing."""
    rows = [dict(r) for r in corpus["rows"]]
    rows[5]["image"] = "images/not-there.png"
    path = corpus["folder"] / "photos-missing.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["id", "text", "image"])
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path_factory.mktemp("runs") / "photos"
    result = CliRunner().invoke(
        main,
        [
            "run", str(path), "--id-column", "id", "--image-column", "image",
            "--modality", "both", "--llm", "none", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 60 images could not be read" in result.output
    return out


def test_cli_both_modality_run_and_its_report(image_run, corpus):
    config = json.loads((image_run / "config.json").read_text())
    assert config["images"] == {
        "modality": "both", "model": "features-v1", "dim": 180,
        "documents_with_image": 59, "unreadable": 1,
    }  # fmt: skip
    assert config["params"]["modality"] == "both"
    html = (image_run / "report.html").read_text()
    thumbs = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
    topics = [t for t in json.loads((image_run / "topics.json").read_text()) if t["topic"] >= 0]
    assert len(thumbs) >= len(topics) and len(thumbs) <= 6 * (len(topics) + 1)
    import base64
    import io

    with Image.open(io.BytesIO(base64.b64decode(thumbs[0]))) as thumb:
        assert max(thumb.size) <= 96 and thumb.format == "JPEG"
    folder = str(corpus["folder"])
    assert folder not in html and "photo-0" not in html and "images/" not in html
    assert str(image_run) not in html
    # A report shared without text leaves the images out too.
    shared = image_run.parent / "shared"
    result = CliRunner().invoke(main, ["report", str(image_run), "--no-text", "--out", str(shared)])
    assert result.exit_code == 0, result.output
    assert "data:image/jpeg" not in (shared / "report.html").read_text()


def test_saved_run_reopens_with_its_images(image_run):
    model = load_run(image_run)
    assert model.modality_ == "both" and int(model.has_image_.sum()) == 59
    assert model.image_paths_[5].endswith("not-there.png") and not model.has_image_[5]
    assert any(model.representative_images_.values())
    again = save(model, image_run.parent / "resaved")
    assert (again / "image_embeddings.npy").is_file()
    assert "data:image/jpeg" in (again / "report.html").read_text()


def test_review_topic_page_shows_the_thumbnails(image_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(image_run, run)
    topic = next(
        t["topic"] for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0
    )
    with ThreadServer(run) as server:
        page = server.call("GET", f"/topics/{topic}")
        assert page.status == 200, page.text[:500]
        assert "img-src 'self' data:" in page.headers["content-security-policy"]
        found = re.search(r'<div class="thumbs" id="topic-images">(.*?)</div>', page.text, re.S)
        assert found and found.group(1).count('<img src="data:image/jpeg;base64,') >= 1
        assert str(image_run.parent) not in page.text and "photo-0" not in page.text
        detail = server.call("GET", f"/api/topics/{topic}").json
        assert detail["images"] and detail["images"][0]["src"].startswith("data:image/jpeg;base64,")


def test_cli_refuses_modality_without_images(corpus, tmp_path):
    result = CliRunner().invoke(
        main, ["run", str(corpus["csv"]), "--modality", "image", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code != 0 and "--modality image needs --image-column" in result.output
    result = CliRunner().invoke(
        main,
        ["run", str(corpus["csv"]), "--image-column", "nope", "--out", str(tmp_path / "y")],
    )
    assert result.exit_code != 0 and "--image-column" in result.output


def test_merged_topics_keep_their_images(image_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(image_run, run)
    ids = [t["topic"] for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    result = CliRunner().invoke(main, ["topics", str(run), "merge", str(ids[0]), str(ids[1])])
    assert result.exit_code == 0, result.output
    import pandas as pd

    documents = pd.read_parquet(run / "documents.parquet")
    assert documents["image"].notna().sum() == N
    model = load_run(run)
    merged = model.representative_images_[ids[0]]
    assert merged and all(model.topics_[model.image_paths_.index(p)] == ids[0] for p in merged)
    assert "data:image/jpeg" in (run / "report.html").read_text()
