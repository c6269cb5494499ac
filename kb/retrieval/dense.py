"""Language-neutral dense similarity: passage and question vectors centred per language.

In a knowledge base that mixes Vietnamese and English, multilingual-e5 places every text near
the other texts of its language, so a question's nearest passages are those in its own language
even when the answer is written in the other one. Subtracting each language's mean passage
vector from its passages, and the question's language's mean from the question, takes that
shared offset out (Libovický et al. 2020, on the language neutrality of multilingual
representations). The means are statistics of the knowledge base itself, derived from Chroma
with the other indexes; nothing is fitted on a question set. A language with few passages has a
noisy mean: it is shrunk towards the origin, as if ``PRIOR`` passages there were added to it.

Ranking uses the centred cosine only when the knowledge base has passages in two languages or
more: with one language there is no offset between languages to take out, and on xquad-dev's
one-language sets centring cost recall@1 (0.770 -> 0.745). The evidence an answer rests on
(``kb.answers.abstention``) is always measured centred, so that one similarity floor means the same
in any knowledge base: the common direction of all passages says nothing about a question.

Measured (dense recall@1, evals/README.md "Language-neutral dense search"): xquad-dev's mixed
answers corpus, other-language questions 0.497 -> 0.815, same-language 0.927 -> 0.932; golden
set 0.777 -> 0.835; held-out 0.839 -> 0.893.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

PRIOR = 10  # pseudo-passages at the origin added to each language's mean
ALL = "*"  # the centre of every passage: for a language the knowledge base does not have
MEANS_FILE = Path(__file__).resolve().parents[1] / "data" / "language_means.npz"


def language_centres(vectors: np.ndarray, languages: np.ndarray) -> dict[str, np.ndarray]:
    """Each passage language's (shrunk) mean vector, and that of all passages under ``ALL``."""
    if not len(vectors):
        return {}
    centres = {ALL: vectors.sum(axis=0) / (len(vectors) + PRIOR)}
    for name in sorted(set(languages.tolist())):
        rows = vectors[languages == name]
        centres[name] = rows.sum(axis=0) / (len(rows) + PRIOR)
    return {name: c.astype(np.float32) for name, c in centres.items()}


def mixed(centres: dict[str, np.ndarray]) -> bool:
    """Whether the knowledge base has passages in two languages or more."""
    return len(centres) > 2


def centred_norms(
    vectors: np.ndarray, languages: np.ndarray, centres: dict[str, np.ndarray]
) -> np.ndarray:
    """The length of each passage vector once its language's centre is taken out."""
    if not len(vectors):
        return np.zeros(0, dtype=np.float32)
    norms = np.zeros(len(vectors), dtype=np.float32)
    for lang in set(languages.tolist()):  # a language at a time: no copy of every centre
        rows = languages == lang
        norms[rows] = np.linalg.norm(
            vectors[rows] - _centre(centres, lang, vectors.shape[1]), axis=1
        )
    return norms


def centred_cosines(
    vectors: np.ndarray,
    languages: np.ndarray,
    centres: dict[str, np.ndarray],
    norms: np.ndarray,
    query: np.ndarray,
    language: str,
) -> np.ndarray:
    """``(p - c_p)·(q - c_q) / |p - c_p| |q - c_q|`` for each passage ``p``, with ``norms``
    from :func:`centred_norms`: one matrix product, whatever the number of languages."""
    if not len(vectors):
        return np.zeros(0, dtype=np.float32)
    q = query - _centre(centres, language, len(query))
    q_norm = float(np.linalg.norm(q)) or 1.0
    offsets = np.full(len(languages), float(_centre(centres, ALL, len(q)) @ q), dtype=np.float32)
    for lang, c in centres.items():  # one comparison per language, not a loop over passages
        offsets[languages == lang] = float(c @ q)
    dots = np.asarray(vectors @ q, dtype=np.float32) - offsets
    return (dots / (np.maximum(norms, 1e-6) * q_norm)).astype(np.float32)


def _centre(centres: dict[str, np.ndarray], language: str, dim: int) -> np.ndarray:
    found = centres.get(language)
    if found is None:
        found = estimated_centre(centres, language)
    if found is None:
        found = centres.get(ALL)
    return found if found is not None else np.zeros(dim, dtype=np.float32)


def estimated_centre(centres: dict[str, np.ndarray], language: str) -> np.ndarray | None:
    """The centre of a language the knowledge base has no passage in, for a question in it: the
    knowledge base's one language's centre moved by the model's own offset between the two
    (``model_means``), scaled as that centre is shrunk. Centring such a question on the centre
    of all passages instead leaves its language in it, and its similarities across languages
    ran 0.065 lower than in a knowledge base of both languages, where the support floors were
    set (evals/README.md, "A knowledge base in one language"). None where it cannot be told."""
    means = model_means()
    held = [name for name in centres if name != ALL]
    if len(held) != 1 or language not in means or held[0] not in means:
        return None
    own, model_own = centres[held[0]], means[held[0]]
    scale = float(np.linalg.norm(own) / max(float(np.linalg.norm(model_own)), 1e-6))
    return (own + min(scale, 1.0) * (means[language] - model_own)).astype(np.float32)


@functools.cache
def model_means() -> dict[str, np.ndarray]:
    """Each language's mean passage vector as this model places it, measured on a knowledge base
    of both languages (``scripts/language_means.py``); empty if the file is missing or was made
    by another model."""
    from kb.store.embeddings import MODEL_ID

    try:
        with np.load(MEANS_FILE, allow_pickle=False) as data:
            if str(data["model_id"]) != MODEL_ID:
                return {}
            return {
                name: np.asarray(data[name], dtype=np.float32)
                for name in data.files
                if name not in ("model_id", "source")
            }
    except (OSError, KeyError, ValueError):
        return {}
