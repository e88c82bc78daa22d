"""Roost graph network and its ensemble estimator: shapes, invariances, persistence, pretrained weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from predictor.estimators.graph.regressor import GraphConductivityRegressor
from predictor.estimators.graph import CompositionGraphs, RoostConfig, collate
from predictor.estimators.graph.data import composition_arrays
from predictor.estimators.graph.pretrain import load_pretrained, pretrained_path
from predictor.composition import parse_formula
from conftest import needs_shared_data

torch.set_num_threads(1)

QUERY = ["Li3YCl6", "Na3InCl6", "Li6PS5Cl"]


@pytest.fixture(scope="module")
def graph_model(small_set):
    formulas, targets = small_set
    return GraphConductivityRegressor(n_members=3, epochs=3, random_state=0).fit(formulas, targets)


def test_output_shapes(graph_model):
    result = graph_model.predict_distribution(QUERY)
    for key in ("mean", "std", "lo", "hi", "ensemble_std", "distance"):
        assert result[key].shape == (len(QUERY),), key
    assert np.all(np.isfinite(result["std"])) and np.all(result["lo"] < result["hi"])
    mean, std = graph_model.predict(QUERY, return_std=True)
    lo, hi = graph_model.predict_interval(QUERY)
    assert mean.shape == std.shape == lo.shape == hi.shape == (len(QUERY),)
    assert len(graph_model.members_) == 3


def test_element_order_invariance(graph_model):
    a, b = graph_model.predict(["Li3YCl6", "Cl6YLi3"])
    assert a == pytest.approx(b, abs=1e-5)


def test_shuffled_nodes_in_a_batch():
    torch.manual_seed(0)
    model = RoostConfig().build_model().eval()
    graphs = [composition_arrays(parse_formula(f)) for f in ("Li2.5Y0.5Zr0.5Cl6", "Li6PS5Cl")]
    permuted = [(z[p], w[p]) for (z, w), p in zip(graphs, (np.array([3, 1, 0, 2]), np.array([2, 0, 3, 1])))]
    with torch.no_grad():
        (m1, s1), (m2, s2) = model(collate(graphs)), model(collate(permuted[::-1]))
    assert torch.allclose(m1, m2.flip(0), atol=1e-5) and torch.allclose(s1, s2.flip(0), atol=1e-5)


def test_formula_scaling_invariance(graph_model):
    a, b = graph_model.predict(["Li3YCl6", "Li6Y2Cl12"])
    assert a == pytest.approx(b, abs=1e-5)


def test_dense_graph_has_self_loops():
    batch = CompositionGraphs(["Li3YCl6", "LiCl"]).batch([0, 1])
    assert len(batch.z) == 5 and len(batch.self_idx) == 3 * 3 + 2 * 2
    assert batch.node_material.tolist() == [0, 0, 0, 1, 1]
    assert torch.any(batch.self_idx == batch.nbr_idx)


def test_save_load_round_trip(graph_model, tmp_path):
    graph_model.save(tmp_path / "graph")
    loaded = GraphConductivityRegressor.load(tmp_path / "graph")
    before, after = graph_model.predict_distribution(QUERY), loaded.predict_distribution(QUERY)
    for key in ("mean", "std", "lo", "hi"):
        np.testing.assert_array_equal(before[key], after[key])


@pytest.mark.parametrize("weighting", [None, "1 + softplus(pow)"])
def test_networks_saved_under_another_attention_weighting_are_refused(graph_model, tmp_path, weighting):
    """Weights learnt under another weighting compute other numbers with this code: refuse them."""
    import json

    from predictor.artifacts import write_manifest
    from predictor.errors import ModelLoadError

    folder = graph_model.save(tmp_path / "graph")
    settings = json.loads((folder / "estimator.json").read_text())
    settings.pop("fraction_weighting")
    if weighting is not None:
        settings["fraction_weighting"] = weighting
    (folder / "estimator.json").write_text(json.dumps(settings))
    manifest = json.loads((folder / "manifest.json").read_text())
    write_manifest(folder, manifest["kind"], estimator=manifest["estimator"], target=manifest["target"])
    with pytest.raises(ModelLoadError, match="attention weighting .* retrain"):
        GraphConductivityRegressor.load(folder)


def test_same_seed_same_predictions(small_set, graph_model):
    formulas, targets = small_set
    again = GraphConductivityRegressor(n_members=3, epochs=3, random_state=0).fit(formulas, targets)
    np.testing.assert_array_equal(again.predict(QUERY), graph_model.predict(QUERY))


def test_invalid_parameters(small_set):
    formulas, targets = small_set
    with pytest.raises(ValueError, match="loss="):
        GraphConductivityRegressor(loss="huber").fit(formulas, targets)
    with pytest.raises(ValueError, match="pretrained="):
        GraphConductivityRegressor(pretrained="/nonexistent.pt").fit(formulas, targets)


@pytest.mark.skipif(not pretrained_path().is_file(),
                    reason=f"no pretrained weights at {pretrained_path()}; run `python -m predictor.estimators.graph.pretrain`")
def test_pretrained_weights_load(small_set):
    state, settings = load_pretrained(pretrained_path())
    assert settings["target_unit"] == "eV/atom" and settings["architecture"] == RoostConfig().architecture()
    model = RoostConfig().build_model()
    model.descriptor.load_state_dict(state)  # strict: every key matches
    formulas, targets = small_set
    fitted = GraphConductivityRegressor(n_members=2, epochs=1, pretrained=pretrained_path()).fit(formulas, targets)
    assert np.all(np.isfinite(fitted.predict(QUERY)))


class _MarkedRow(torch.nn.Module):
    """``scale`` times the last input column: picks out the row marked there."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return self.scale * x[:, -1:]


def test_a_trace_element_cannot_outweigh_the_host_whatever_its_gate():
    """An element at 1e-4 of the atoms moves the pooled result by a trace even when the gate
    network scores it 1000 above the host elements: unbounded gates (exp(1000) times its
    fraction) let it take over the pooling, and a 0.001 formula-unit dopant moved log10 sigma
    by up to 2.0."""
    from predictor.estimators.graph.segments import WeightedAttentionPooling

    pool = WeightedAttentionPooling(4, 1, gate_hidden=[8], message_hidden=[8])
    pool.gate_nn, pool.message_nn = _MarkedRow(1000.0), _MarkedRow(100.0)  # the trace element's message: 100
    with torch.no_grad():
        pool.pow.fill_(-30.0)  # the smallest power of the fractions the pooling allows
        hosts = torch.eye(4)[:3]
        doped = torch.eye(4)
        host_only = pool(hosts, torch.zeros(3, dtype=torch.long), 1, torch.tensor([[0.3], [0.6], [0.1]]))
        with_trace = pool(doped, torch.zeros(4, dtype=torch.long), 1, torch.tensor([[0.3], [0.6], [0.1 - 1e-4], [1e-4]]))
    assert float(host_only) == 0.0
    assert 0.0 < float(with_trace) < 1e-3


@needs_shared_data
def test_pretraining_swaps_in_complete_weights_and_records_no_machine_paths(tmp_path):
    from predictor.estimators.graph import pretrain

    output = tmp_path / "pretrained"
    output.mkdir()
    (output / pretrain.WEIGHTS).write_text("previous weights")
    settings = pretrain.main(["--epochs", "1", "--max-rows", "300", "--output", str(output)])
    state, recorded = load_pretrained(output / pretrain.WEIGHTS)
    assert state and recorded["command"] == settings["command"] and "--output" not in settings["command"]
    assert str(tmp_path) not in (output / pretrain.SETTINGS).read_text()
    assert sorted(p.name for p in output.iterdir()) == sorted(pretrain.PRETRAINED_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["pretrained"]


def test_pretraining_refuses_an_output_folder_that_holds_other_files(tmp_path, capsys):
    from predictor.estimators.graph import pretrain

    (tmp_path / "notes.txt").write_text("a user's file")
    with pytest.raises(SystemExit) as exit_info:
        pretrain.main(["--epochs", "1", "--output", str(tmp_path)])
    assert exit_info.value.code == 2 and "notes.txt" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "a user's file"


@needs_shared_data
def test_interrupted_pretraining_leaves_the_previous_weights(tmp_path, monkeypatch):
    from predictor.estimators.graph import pretrain

    output = tmp_path / "pretrained"
    output.mkdir()
    (output / pretrain.WEIGHTS).write_text("previous weights")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain.main(["--epochs", "1", "--max-rows", "300", "--output", str(output)])
    assert [p.name for p in output.iterdir()] == [pretrain.WEIGHTS]
    assert (output / pretrain.WEIGHTS).read_text() == "previous weights"
    assert [p.name for p in tmp_path.iterdir()] == ["pretrained"]
