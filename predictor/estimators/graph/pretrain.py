"""Pretrain the Roost descriptor network on Materials Project formation energies.

    python -m predictor.estimators.graph.pretrain [--epochs 8] [--max-rows 0] [--output models/pretrained]

Trains the whole network (descriptor + output head) on formation energy per atom (eV/atom)
of the MP table read in place from the data directory (``mp/mp-formation-2020.csv``), with a
5 % random validation split, and writes the descriptor weights (embedding map, message and
pooling layers; the head is discarded, fine-tuning starts a fresh one) to
``roost_mp_formation.pt`` plus ``roost_mp_formation.json`` (settings, SHA-256 of the data,
epochs, validation MAE in eV/atom, wall time). Load with ``torch.load(path, weights_only=True)``.
The files are written into a staging folder beside the output folder, which replaces it when
complete: an interrupted run leaves the previous weights in place. An output folder that holds
anything else is refused.
Architecture: the defaults of :class:`~predictor.estimators.graph.fitting.RoostConfig`, which the
conductivity estimator also uses, so the weights fit it.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pymatgen.core import Composition

from predictor.artifacts import (PRETRAINED_KIND, finite_state_dict, read_json, read_manifest, sha256,
                                 staged_replacement, write_manifest)
from predictor.errors import ModelLoadError
from predictor.model_layout import PRETRAINED_DIR, PRETRAINED_TARGET, part_holds
from predictor.estimators.graph.data import MAX_ELEMENTS, CompositionGraphs
from predictor.estimators.graph.fitting import RoostConfig, predict, train
from predictor.paths import data_file, models_dir

log = logging.getLogger(__name__)

WEIGHTS = "roost_mp_formation.pt"
SETTINGS = "roost_mp_formation.json"
#: What a folder of pretrained weights holds.
PRETRAINED_FILES = (WEIGHTS, SETTINGS, "manifest.json")


def pretrained_path() -> Path:
    """Default location of the shipped pretrained descriptor weights."""
    return models_dir() / PRETRAINED_DIR / WEIGHTS


def load_pretrained(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Descriptor state_dict and settings written by :func:`main` (``weights_only`` load).

    The folder's ``manifest.json`` is verified first (hashes of the weights and settings, the
    property and target it names), then the weights (finite numbers).

    Raises
    ------
    ModelLoadError
        When the weights or their settings are missing, unlisted, modified or unreadable.
    """
    path = Path(path)
    manifest = read_manifest(path.parent, PRETRAINED_KIND, expected=part_holds(PRETRAINED_TARGET))
    for name in (path.name, path.with_suffix(".json").name):
        if name not in manifest["files"]:
            raise ModelLoadError(f"{path.parent / name} is not listed in the folder's manifest.json")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: cannot load the pretrained weights ({exc})") from None
    finite_state_dict(state, path)
    settings = read_json(path.with_suffix(".json"), what="the settings of pretrained weights")
    return state, settings


def _compositions(frame: pd.DataFrame) -> tuple[list[Composition], np.ndarray]:
    keep, targets = [], []
    for text, energy in zip(frame["composition"], frame["formation_energy_per_atom"]):
        try:
            composition = Composition(text)
        except Exception:  # noqa: BLE001 - MP strings that pymatgen cannot parse are skipped
            continue
        if 0 < len(composition) <= MAX_ELEMENTS and np.isfinite(energy):
            keep.append(composition)
            targets.append(float(energy))
    return keep, np.asarray(targets)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m predictor.estimators.graph.pretrain",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-rows", type=int, default=0, help="random subsample of MP rows (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None,
                        help="folder of the weights, replaced when complete (default: models/pretrained)")
    args = parser.parse_args(argv)
    output = (args.output or models_dir() / PRETRAINED_DIR).absolute()
    foreign = sorted(p.name for p in output.iterdir() if p.name not in PRETRAINED_FILES) if output.is_dir() else []
    if foreign:  # the folder is replaced as a whole: never take anything else with it
        parser.error(f"--output {output} holds {', '.join(foreign[:5])} besides pretrained weights; "
                     "give an empty or new folder, or one written by this command")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    start = time.perf_counter()

    path = data_file("mp", "mp-formation-2020.csv")
    frame = pd.read_csv(path)
    if args.max_rows and args.max_rows < len(frame):
        frame = frame.sample(args.max_rows, random_state=args.seed)
    compositions, energy = _compositions(frame)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(energy))
    n_val = max(1, len(energy) // 20)
    val, fit = order[:n_val], order[n_val:]
    centre, scale = float(energy[fit].mean()), float(energy[fit].std())
    log.info("MP formation energies: %d training, %d validation compositions", len(fit), len(val))

    config = replace(RoostConfig(), epochs=args.epochs, batch_size=args.batch_size, learning_rate=2e-3)
    torch.manual_seed(args.seed)
    model = config.build_model()
    train_data = CompositionGraphs([compositions[i] for i in fit], (energy[fit] - centre) / scale)
    history = train(model, train_data, config, seed=args.seed, progress=True, description="pretraining")
    mean, _ = predict(model, CompositionGraphs([compositions[i] for i in val]))
    val_mae = float(np.mean(np.abs(mean * scale + centre - energy[val])))
    wall = time.perf_counter() - start

    with staged_replacement(output) as staging:
        torch.save(model.descriptor.state_dict(), staging / WEIGHTS)
        settings = {
            "description": "Roost descriptor network pretrained on MP formation energy per atom",
            "target": PRETRAINED_TARGET, "target_unit": "eV/atom",
            "data_file": "mp/mp-formation-2020.csv", "data_sha256": sha256(path),
            "n_train": int(len(fit)), "n_validation": int(len(val)), "max_rows": args.max_rows, "seed": args.seed,
            "config": config.to_dict(), "architecture": config.architecture(),
            "epochs": args.epochs, "train_loss": history, "validation_mae_eV_per_atom": val_mae,
            "target_centre_eV_per_atom": centre, "target_scale_eV_per_atom": scale,
            "wall_time_s": round(wall, 1), "threads": 1, "torch": torch.__version__,
            # the settings that make the weights, not where they were written (no machine's paths)
            "command": (f"python -m predictor.estimators.graph.pretrain --epochs {args.epochs} --batch-size {args.batch_size} "
                        f"--max-rows {args.max_rows} --seed {args.seed}"),
            "weights_sha256": sha256(staging / WEIGHTS),
        }
        (staging / SETTINGS).write_text(json.dumps(settings, indent=1) + "\n")
        write_manifest(staging, PRETRAINED_KIND, [WEIGHTS, SETTINGS], holds=part_holds(PRETRAINED_TARGET))
    log.info("validation MAE %.3f eV/atom after %d epochs, %.0f s; wrote %s", val_mae, args.epochs, wall, output / WEIGHTS)
    return settings


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
