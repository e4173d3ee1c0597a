"""Nearest neighbours by cosine in blocks, on the GPU when one is there.

With torch loaded and CUDA available the similarity blocks and the top-k run on the GPU (the
base matrix is moved there once); otherwise NumPy on the CPU. Inputs are unit vectors.
"""

from __future__ import annotations

import sys

import numpy as np


def _cuda():
    torch = sys.modules.get("torch")  # never import torch just to ask
    return torch if torch is not None and torch.cuda.is_available() else None


def top_k(
    queries: np.ndarray, base: np.ndarray, k: int, block: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, indices) of each query's k most similar base rows, unordered within k."""
    k = min(k, len(base))
    torch = _cuda()
    sims_out = np.empty((len(queries), k), dtype=np.float32)
    idx_out = np.empty((len(queries), k), dtype=np.int64)
    if torch is not None:
        base_gpu = torch.as_tensor(np.ascontiguousarray(base, dtype=np.float32), device="cuda")
    for start in range(0, len(queries), block):
        chunk = queries[start : start + block]
        if torch is not None:
            q = torch.as_tensor(np.ascontiguousarray(chunk, dtype=np.float32), device="cuda")
            values, index = torch.topk(q @ base_gpu.T, k, dim=1)
            sims_out[start : start + len(chunk)] = values.cpu().numpy()
            idx_out[start : start + len(chunk)] = index.cpu().numpy()
            continue
        sims = chunk @ base.T
        index = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        sims_out[start : start + len(chunk)] = np.take_along_axis(sims, index, axis=1)
        idx_out[start : start + len(chunk)] = index
    return sims_out, idx_out
