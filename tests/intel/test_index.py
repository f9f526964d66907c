"""VectorIndex on its own: updates in place, exact cosines from the graph, and the on-disk
format (one complete save at a time; anything else is rebuilt)."""

import json

import numpy as np
import pytest

from newsstand.intel import index as index_module
from newsstand.intel.index import VectorIndex


def random_unit(n, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(keys, vectors, query, k):
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(keys[i]) for i in order]


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_removing_and_replacing_keeps_every_other_vector_in_place(exact_limit):
    vectors = random_unit(400)
    index = VectorIndex(384, exact_limit=exact_limit)
    index.add(np.arange(300), vectors[:300])
    index.remove([0, 150, 299, 12345])  # first, middle, last row, and a key never added
    index.add([7, 500], np.stack([vectors[350], vectors[351]]))  # 7 gets a new vector
    expected = {k: vectors[k] for k in range(300) if k not in (0, 150, 299)}
    expected[7], expected[500] = vectors[350], vectors[351]
    assert len(index) == len(expected) and sorted(index.keys().tolist()) == sorted(expected)
    assert 0 not in index and 150 not in index and 500 in index
    assert np.array_equal(index.vectors(list(expected)), np.stack(list(expected.values())))
    keys, matrix = np.array(list(expected)), np.stack(list(expected.values()))
    if index.backend == "exact":
        for query in vectors[[1, 7, 350, 360]]:
            assert [k for k, _ in index.search(query, 5)] == brute_force(keys, matrix, query, 5)
        return
    # The graph is approximate and built on several threads, so its neighbours of a random query
    # may differ from run to run (random 384-d vectors are nearly equidistant); what must hold is
    # that each stored vector finds itself, no removed key comes back, and cosines are exact.
    for key in (1, 7, 298, 500):
        found = index.search(expected[key], 5)
        assert found[0][0] == key and found[0][1] == pytest.approx(1.0, abs=1e-5)
        assert all(k in expected and s == pytest.approx(float(expected[k] @ expected[key]), abs=1e-6)
                   for k, s in found)


def test_a_key_repeated_in_one_batch_keeps_its_last_vector():
    vectors = random_unit(3)
    index = VectorIndex(384)
    index.add([1, 2, 1], vectors)
    assert len(index) == 2 and np.array_equal(index.vectors([1])[0], vectors[2])


def test_graph_results_carry_exact_cosines():
    vectors = random_unit(500, seed=3)
    index = VectorIndex(384, exact_limit=100)
    index.add(np.arange(500), vectors)
    assert index.backend == "usearch"
    query = random_unit(1, seed=4)[0]
    found = index.search(query, 10)
    for key, score in found:
        assert score == pytest.approx(float(vectors[key] @ query), abs=1e-6)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert [k for k, _ in index.search(vectors[42], 3, exclude=42)][0] != 42


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_saves_replace_each_other_and_leave_one_set_of_files(tmp_path, exact_limit):
    vectors = random_unit(300)
    index = VectorIndex(384, exact_limit=exact_limit)
    index.add(np.arange(200), vectors[:200])
    index.save(tmp_path, {"scan_from": 1})
    index.add(np.arange(200, 300), vectors[200:])
    index.save(tmp_path, {"scan_from": 2})
    names = sorted(p.name for p in tmp_path.iterdir())
    generation = json.loads((tmp_path / "vectors.json").read_text())["generation"]
    assert names == sorted(["vectors.json", f"vectors-{generation}.npz"]
                           + ([f"vectors-{generation}.usearch"] if exact_limit == 100 else []))
    loaded, meta = VectorIndex.load(tmp_path)
    assert meta["scan_from"] == 2 and len(loaded) == 300 and loaded.backend == index.backend
    assert loaded.search(vectors[250], 1)[0][0] == 250
    loaded.add([300], random_unit(1, seed=9))  # a loaded graph still takes updates
    assert 300 in loaded and len(loaded) == 301


def test_the_old_format_and_incomplete_saves_load_as_nothing(tmp_path):
    # Format 1: vectors.json without a format, beside vectors.npz.
    np.savez(tmp_path / "vectors.npz", keys=np.arange(3), matrix=random_unit(3))
    (tmp_path / "vectors.json").write_text(json.dumps({"scan_from": 4, "dims": 384}))
    assert VectorIndex.load(tmp_path) is None

    index = VectorIndex(384, exact_limit=10)
    index.add(np.arange(50), random_unit(50))
    index.save(tmp_path, {"scan_from": 4})
    assert not (tmp_path / "vectors.npz").exists()  # the old files are cleaned away
    generation = json.loads((tmp_path / "vectors.json").read_text())["generation"]
    (tmp_path / f"vectors-{generation}.usearch").write_bytes(b"truncated")
    assert VectorIndex.load(tmp_path) is None
    (tmp_path / f"vectors-{generation}.usearch").unlink()
    assert VectorIndex.load(tmp_path) is None


def test_a_graph_saved_with_other_settings_is_rebuilt_from_the_saved_vectors(tmp_path):
    vectors = random_unit(200)
    index = VectorIndex(384, exact_limit=50)
    index.add(np.arange(200), vectors)
    index.save(tmp_path, {})
    meta = json.loads((tmp_path / "vectors.json").read_text())
    (tmp_path / "vectors.json").write_text(json.dumps({**meta, "ann": {"dtype": "f16", "connectivity": 7}}))
    (tmp_path / f"vectors-{meta['generation']}.usearch").unlink()  # not even read
    loaded, _ = VectorIndex.load(tmp_path)
    assert loaded.backend == "usearch" and loaded._ann.connectivity == index_module.CONNECTIVITY
    assert len(loaded) == 200 and loaded.search(vectors[5], 1)[0][0] == 5
