"""Fine-tune an open_clip model on figure–text pairs with open_clip's own training code.

``adapt(corpus, name, cfg)`` writes train/validation CSVs, builds open_clip_train's
arguments (``parse_args`` on an explicit list, never ``sys.argv``), its model, CSV data
loaders, contrastive loss and learning-rate schedule, and runs its ``train_one_epoch`` and
``evaluate`` epoch by epoch. Around them: early stopping on the validation loss (the best
epoch is kept, or the last with ``keep="last"``), a step-level progress callback with loss and
ETA, and a resumable state (model, optimiser, scaler, curves) saved after every epoch under
``cache/adapt/runs/NAME``.
"""
from __future__ import annotations

import logging
import math
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .. import config
from ..corpora.base import Corpus
from ..errors import torch_load_reason
from ..store import atomic_path, atomic_write_json, key_of, load_json
from . import provenance as prov
from .data import IMG_KEY, SEPARATOR, TEXT_KEY, write_csv
from .pairs import PairSplit, benchmark_patents, split_pairs
from .spec import AdaptConfig, AdaptError

__all__ = ["AdaptResult", "adapt", "resolve_init", "image_size_of", "Progress"]

log = logging.getLogger(__name__)

#: ``progress(done_steps, total_steps, message)``; raising from it interrupts the run
#: (the last completed epoch is kept and the next call resumes from it).
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class AdaptResult:
    """A finished adaptation: the model on disk and what happened in this call."""

    model: prov.AdaptedModel
    resumed_from_epoch: int  # 0 when the run started fresh
    epochs_run: int  # epochs trained in this call
    already_done: bool  # the same run had already finished; nothing was trained


# ----------------------------------------------------------------------------- checks
def _known_arch(arch: str) -> None:
    import open_clip

    if arch not in open_clip.list_models():
        close = [m for m in open_clip.list_models() if arch.lower().split("-")[0] in m.lower()][:8]
        raise AdaptError(f"unknown open_clip architecture {arch!r}; e.g. {', '.join(close) or 'ViT-B-16, ViT-B-32'} "
                         "(all: python -c \"import open_clip; print(open_clip.list_models())\")")


def resolve_init(arch: str, pretrained: str) -> tuple[str | None, str]:
    """``(weights file or None for random init, encoder spec of the starting model)``.

    ``pretrained`` is ``none`` (random weights), a checkpoint path, or an open_clip tag whose
    weights are already downloaded (nothing is fetched here); AdaptError says how to fix it.
    """
    _known_arch(arch)
    if pretrained.lower() in ("none", "random", ""):
        return None, ""
    from ..encoders import get_encoder

    enc = get_encoder(f"clip:{arch}:{pretrained}")
    av = enc.availability()
    if not av.ok:
        raise AdaptError(f"cannot start from {arch}/{pretrained}: {av.reason}. Fix: {av.fix}")
    weights = enc.local_weights()
    if weights is None:
        raise AdaptError(f"weights for {arch}/{pretrained} are not on this machine. Fix: "
                         f"{config.cli()} fetch-weights clip:{arch}:{pretrained}")
    if getattr(enc, "is_checkpoint", False):  # a file the user named: read it as the encoders do, tensors only
        from ..encoders.torch_image import read_state_dict

        try:
            read_state_dict(Path(weights), "--pretrained checkpoint")
        except RuntimeError as exc:
            raise AdaptError(str(exc)) from exc
    return str(weights), enc.spec


def image_size_of(arch: str) -> int:
    """The input size of an open_clip architecture."""
    import open_clip

    size = (open_clip.get_model_config(arch) or {}).get("vision_cfg", {}).get("image_size", 224)
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def _tag_cfg(arch: str, pretrained: str) -> dict:
    import open_clip

    if pretrained.lower() in ("none", "random", "") or "/" in pretrained \
            or pretrained.endswith((".pt", ".pth", ".bin")):
        return {}
    return dict(open_clip.get_pretrained_cfg(arch, pretrained) or {})


def _saved_arch(arch: str, cfg: dict) -> str:
    """The architecture name that reloads the trained weights with the same activation."""
    import open_clip

    if cfg.get("quick_gelu") and not arch.endswith("-quickgelu"):
        if f"{arch}-quickgelu" in open_clip.list_models():
            return f"{arch}-quickgelu"
    return arch


def _device_and_precision(cfg: AdaptConfig) -> tuple[str, str]:
    import torch

    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AdaptError("device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    precision = cfg.precision
    if precision == "auto":
        precision = "amp" if device.startswith("cuda") else "fp32"
    if precision != "fp32" and not device.startswith("cuda"):
        raise AdaptError(f"mixed precision ({precision}) needs CUDA; on CPU use --precision fp32 (or auto)")
    return device, precision


def _check_sizes(split: PairSplit, batch_size: int) -> None:
    n = len(split.train)
    fits = max(2, min(n, 2 ** int(math.log2(max(n, 2)))))
    if n < batch_size:
        raise AdaptError(
            f"only {n} training pairs (after leaving out {len(split.excluded_patents)} benchmark patent(s) and "
            f"{len(split.val)} validation pairs), fewer than one batch of {batch_size}: open_clip drops the last "
            f"incomplete batch, so nothing would train. Use --batch-size {fits} "
            "or fewer, or a larger corpus"
        )
    if len(split.val) < 2:
        raise AdaptError(f"only {len(split.val)} validation pair(s); raise --val-fraction or add patents")


# ------------------------------------------------------------------------ open_clip
def _open_clip_args(cfg: AdaptConfig, train_csv: Path, val_csv: Path, device: str, precision: str,
                    workers: int):
    """open_clip_train's argument namespace for this run (an explicit list, not sys.argv)."""
    from open_clip_train.params import parse_args

    argv = [
        "--model", cfg.arch, "--train-data", str(train_csv), "--val-data", str(val_csv),
        "--dataset-type", "csv", "--csv-img-key", IMG_KEY, "--csv-caption-key", TEXT_KEY,
        "--csv-separator", SEPARATOR, "--batch-size", str(cfg.batch_size), "--lr", repr(cfg.lr),
        "--wd", repr(cfg.wd), "--lr-scheduler", cfg.schedule, "--precision", precision,
        "--device", device, "--workers", str(workers), "--seed", str(cfg.seed),
        "--val-frequency", "1", "--report-to", "", "--logs", "none", "--log-every-n-steps", "1000000",
    ]
    args = parse_args(argv)
    from open_clip_train.distributed import init_distributed_device

    init_distributed_device(args)
    args.distill, args.wandb, args.tensorboard, args.save_logs = False, False, False, False
    args.checkpoint_path = ""
    return args


def _optimizer(model, args):
    """AdamW with open_clip_train's grouping: no weight decay on gains, biases and logit scale."""
    import torch

    def exclude(n, p):
        return p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [{"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
         {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": args.wd}],
        lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
    )


class _StepLoss:
    """open_clip's loss, reporting each step's total loss to a callback (one call = one step)."""

    def __init__(self, loss, on_step: Callable[[float], None]):
        self.loss, self.on_step = loss, on_step

    def __call__(self, *a, **kw):
        out = self.loss(*a, **kw)
        total = sum(out.values()) if isinstance(out, dict) else out
        self.on_step(float(total.detach()))
        return out


def _val_row(metrics: dict, epoch: int, step: int) -> dict:
    row = {"epoch": epoch, "step": step, "val_loss": float(metrics.get("clip_val_loss", float("nan")))}
    for k, v in metrics.items():
        if k.startswith(("image_to_text_", "text_to_image_")):
            row[k] = float(v)
    return row


def _build(args, init_path: str | None, tag_cfg: dict):
    """open_clip's model (from the starting weights), data loaders, loss, tokenizer."""
    import open_clip
    from open_clip_train.data import get_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, pre_train, pre_val = open_clip.create_model_and_transforms(
            args.model, pretrained=init_path, precision=args.precision, device=args.device,
            force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)), output_dict=True,
            image_mean=tag_cfg.get("mean"), image_std=tag_cfg.get("std"),
        )
    tokenizer = open_clip.get_tokenizer(args.model)
    data = get_data(args, (pre_train, pre_val), epoch=0, tokenizer=tokenizer)
    return model, data, open_clip.create_loss(args), tokenizer


def _scheduler(optimizer, args, total_steps: int):
    from open_clip_train.scheduler import const_lr, cosine_lr

    make = cosine_lr if args.lr_scheduler == "cosine" else const_lr
    return make(optimizer, args.lr, args.warmup, total_steps)


class _Tracker:
    """Counts steps, keeps the loss curve and reports loss and ETA to the callback."""

    def __init__(self, total: int, done: int, steps: list, progress: Progress | None):
        self.total, self.done, self.steps, self.progress = total, done, steps, progress
        self.start_done, self.t0, self.epoch, self.epochs = done, time.perf_counter(), 0, 0

    def __call__(self, loss: float) -> None:
        self.done += 1
        self.steps.append([self.done, round(loss, 6)])
        if self.progress is None:
            return
        rate = (self.done - self.start_done) / max(time.perf_counter() - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        self.progress(self.done, self.total,
                      f"epoch {self.epoch}/{self.epochs} · loss {loss:.4f} · ETA {_fmt_seconds(eta)}")


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _save(obj: dict, path: Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _cpu_state(model) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _restore(run: Path, model, optimizer, scaler) -> None:
    import torch

    path = run / "latest.pt"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and "scaler" in ckpt:
            scaler.load_state_dict(ckpt["scaler"])
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or edited files alike
        raise AdaptError(f"cannot resume run {run.name}: its saved state {path} is damaged or truncated "
                         f"({torch_load_reason(exc)}; an interrupted save or a full disk?); free space if the "
                         "disk is full, then run again with --overwrite to start the run over") from exc


def _train(run: Path, state: dict, args, init_path: str | None, tag_cfg: dict, cfg: AdaptConfig,
           progress: Progress | None) -> int:
    """Train epoch by epoch from ``state`` (updated in place and saved after each epoch);
    returns the number of epochs trained in this call."""
    import torch
    from open_clip_train.main import random_seed
    from open_clip_train.train import evaluate, train_one_epoch

    random_seed(cfg.seed + state["epoch"])
    model, data, loss, tokenizer = _build(args, init_path, tag_cfg)
    per_epoch = data["train"].dataloader.num_batches
    epochs = cfg.epochs or max(1, cfg.max_steps // per_epoch)
    args.epochs = epochs
    args.warmup = cfg.warmup if cfg.warmup is not None else min(10_000, (epochs * per_epoch) // 10)
    optimizer = _optimizer(model, args)
    scaler = torch.amp.GradScaler(device=torch.device(args.device).type) if args.precision == "amp" else None
    scheduler = _scheduler(optimizer, args, epochs * per_epoch)
    if state["epoch"] > 0:
        _restore(run, model, optimizer, scaler)
    state.update(epochs_planned=epochs, batches_per_epoch=per_epoch, warmup=args.warmup)
    hist = state["history"]
    if not hist["val"]:  # the starting model's validation metrics, for the curves
        hist["val"].append(_val_row(evaluate(model, data, 0, args, tokenizer=tokenizer), 0, 0))
    track = _Tracker(epochs * per_epoch, state["epoch"] * per_epoch, hist["steps"], progress)
    track.epochs, trained = epochs, 0
    for epoch in range(state["epoch"], state["epoch"] if state.get("stopped_early") else epochs):
        track.epoch = epoch + 1
        t0 = time.perf_counter()
        train_one_epoch(model, data, _StepLoss(loss, track), epoch, optimizer, scaler, scheduler, None, args)
        state["train_seconds"] += time.perf_counter() - t0
        row = _val_row(evaluate(model, data, epoch + 1, args, tokenizer=tokenizer), epoch + 1, track.done)
        hist["val"].append(row)
        trained += 1
        improved = row["val_loss"] < state["best_val_loss"] or state["kept_epoch"] == 0  # NaN-safe first keep
        if improved:
            state.update(best_val_loss=row["val_loss"], best_epoch=epoch + 1, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        if improved or cfg.keep == "last":
            _save({"epoch": epoch + 1, "name": state["name"], "state_dict": _cpu_state(model)}, run / "kept.pt")
            state["kept_epoch"] = epoch + 1
        state["epoch"], state["steps_done"] = epoch + 1, track.done
        state["stopped_early"] = state["bad_epochs"] >= cfg.patience and epoch + 1 < epochs
        latest = {"epoch": epoch + 1, "state_dict": _cpu_state(model), "optimizer": optimizer.state_dict()}
        if scaler is not None:
            latest["scaler"] = scaler.state_dict()
        _save(latest, run / "latest.pt")
        atomic_write_json(run / "state.json", state)
        if state["stopped_early"]:
            break
    return trained


# ----------------------------------------------------------------------------- run
def _run_key(split: PairSplit, cfg: AdaptConfig, init_spec: str) -> str:
    """Content address of a run: the pairs, the settings that shape training, the start."""
    from ..encoders import get_encoder

    hp = {k: v for k, v in cfg.hyperparameters().items() if k not in ("device", "precision", "workers")}
    start = get_encoder(init_spec).cache_key() if init_spec else "random"
    return key_of(split.digest, hp, start)


def _open_state(name: str, key: str, overwrite: bool) -> dict | None:
    """The resumable state of run ``name`` (None to start fresh); AdaptError on a clash."""
    run = prov.run_dir(name)
    old_side = prov.read_sidecar(name)
    state = load_json(run / "state.json")
    clash = (old_side is not None and old_side.get("run_key") != key) or (
        isinstance(state, dict) and state.get("key") != key)
    if clash and not overwrite:
        raise AdaptError(f"a model or run called {name!r} already exists with different data or settings; "
                         "choose another --out name, or pass --overwrite to replace it")
    if clash or overwrite:
        shutil.rmtree(run, ignore_errors=True)
        for p in (prov.weights_path(name), prov.sidecar_path(name)):
            p.unlink(missing_ok=True)
        return None
    if isinstance(state, dict) and state.get("epoch", 0) > 0 and (run / "latest.pt").is_file():
        return state
    return None


def _fresh_state(name: str, key: str) -> dict:
    return {"key": key, "name": name, "epoch": 0, "steps_done": 0, "best_val_loss": float("inf"),
            "best_epoch": 0, "kept_epoch": 0, "bad_epochs": 0, "stopped_early": False, "train_seconds": 0.0,
            "history": {"steps": [], "val": []}}


def _thin(steps: list, most: int) -> list:
    """At most about ``most`` points of a per-step curve (every k-th step, the last one kept)."""
    k = max(1, -(-len(steps) // most))
    return steps if k == 1 else steps[::k] + ([steps[-1]] if (len(steps) - 1) % k else [])


def _finish(name: str, corpus: Corpus, split: PairSplit, cfg: AdaptConfig, state: dict, init_spec: str,
            saved_arch: str, device: str, precision: str) -> prov.AdaptedModel:
    """Publish the kept epoch as ``cache/weights/NAME.pt`` with its provenance sidecar."""
    from ..store import library_versions

    run = prov.run_dir(name)
    with atomic_path(prov.weights_path(name)) as tmp:
        shutil.copyfile(run / "kept.pt", tmp)
    vals = state["history"]["val"]
    best = next((r for r in vals if r["epoch"] == state["best_epoch"]), {})
    kept = next((r for r in vals if r["epoch"] == state["kept_epoch"]), {})
    pairs_seen = state["steps_done"] * cfg.batch_size
    record = {
        "name": name, "arch": saved_arch, "init_spec": init_spec, "run_key": state["key"],
        "corpus": {"name": corpus.name, "kind": corpus.kind, "fingerprint": corpus.fingerprint,
                   "figures": len(corpus)},
        "pairs_digest": split.digest, "text_field": cfg.text, "protocol": cfg.protocol, "cleaning": split.cleaning,
        "hyperparameters": cfg.hyperparameters(), "warmup_steps": state.get("warmup"),
        "device": device, "precision": precision,
        "epochs_planned": state.get("epochs_planned"), "epochs_trained": state["epoch"],
        "steps": state["steps_done"], "batches_per_epoch": state.get("batches_per_epoch"),
        "best_epoch": state["best_epoch"], "best_val": best, "start_val": vals[0] if vals else {},
        "kept_epoch": state["kept_epoch"], "kept_val": kept,
        "stopped_early": state["stopped_early"],
        "train_pairs": len(split.train), "val_pairs": len(split.val), "train_patents": split.train_patents,
        "val_patents": split.val_patents, "without_text": split.without_text,
        "excluded_patents": list(split.excluded_patents), "excluded_figures": split.excluded_figures,
        "seen_patents": sorted({p.patent for p in split.train + split.val if p.patent}),
        "train_seconds": round(state["train_seconds"], 3),
        "pairs_per_second": round(pairs_seen / state["train_seconds"], 3) if state["train_seconds"] else None,
        "versions": library_versions(),
        "history": {"val": state["history"]["val"], "steps": _thin(state["history"]["steps"], 4000)},
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    prov.write_sidecar(name, record)
    return prov.AdaptedModel(name=name, arch=saved_arch, checkpoint=prov.weights_path(name), provenance=record)


def plan(corpus: Corpus, cfg: AdaptConfig, benchmark: Corpus | None = None) -> PairSplit:
    """The pairs a run would train and validate on (benchmark patents left out), checked."""
    cfg.validate()
    exclude = benchmark_patents(corpus) | benchmark_patents(benchmark)
    split = split_pairs(corpus, cfg.text, protocol=cfg.protocol, exclude=exclude,
                        val_fraction=cfg.val_fraction, seed=cfg.seed)
    _check_sizes(split, cfg.batch_size)
    return split


def preflight(corpus: Corpus, name: str, cfg: AdaptConfig, benchmark: Corpus | None = None,
              overwrite: bool = False) -> PairSplit:
    """Every check :func:`adapt` makes before it trains, changing nothing (``--dry-run``):
    the name, the settings, the pair sizes, the starting weights, the device, a name clash."""
    prov.check_name(name)
    split = plan(corpus, cfg, benchmark)
    _, init_spec = resolve_init(cfg.arch, cfg.pretrained)
    _device_and_precision(cfg)
    key = _run_key(split, cfg, init_spec)
    old_side, state = prov.read_sidecar(name), load_json(prov.run_dir(name) / "state.json")
    clash = (old_side is not None and old_side.get("run_key") != key) or (
        isinstance(state, dict) and state.get("key") != key)
    if clash and not overwrite:
        raise AdaptError(f"a model or run called {name!r} already exists with different data or settings; "
                         "choose another --out name, or pass --overwrite to replace it")
    return split


def _check_finite(path: Path, name: str) -> None:
    """AdaptError when a checkpoint holds a NaN or infinite weight (training diverged): never published."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    except Exception as exc:  # noqa: BLE001 - a truncated save (full disk) or an edited file
        raise AdaptError(f"the checkpoint of run {name} at {path} is damaged or truncated ({torch_load_reason(exc)}); "
                         "free space if the disk is full, then run again with --overwrite") from exc
    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise AdaptError(f"training {name} diverged: {len(bad)} weight tensor(s) hold NaN or infinity (e.g. {bad[0]}); "
                         "nothing was published. Lower --lr (UPAIR: 3.54e-6) and run again with --overwrite")


def adapt(corpus: Corpus, name: str, cfg: AdaptConfig = AdaptConfig(), *, benchmark: Corpus | None = None,
          progress: Progress | None = None, overwrite: bool = False) -> AdaptResult:
    """Fine-tune ``cfg.arch`` on ``corpus``'s figure–text pairs into ``cache/weights/NAME.pt``.

    Patents among the queries or candidates of ``corpus``'s own benchmark and of
    ``benchmark`` are left out. A run interrupted after an epoch resumes from it when called
    again with the same data and settings; a finished one is returned as it is.
    """
    prov.check_name(name)
    split = plan(corpus, cfg, benchmark)
    init_path, init_spec = resolve_init(cfg.arch, cfg.pretrained)
    device, precision = _device_and_precision(cfg)
    key = _run_key(split, cfg, init_spec)
    state = _open_state(name, key, overwrite)
    side = prov.read_sidecar(name)
    if side is not None and side.get("run_key") == key and prov.weights_path(name).is_file():
        model = prov.AdaptedModel(name=name, arch=side["arch"], checkpoint=prov.weights_path(name), provenance=side)
        return AdaptResult(model, resumed_from_epoch=side.get("epochs_trained", 0), epochs_run=0, already_done=True)
    run = prov.run_dir(name)
    run.mkdir(parents=True, exist_ok=True)
    resumed = state["epoch"] if state else 0
    state = state or _fresh_state(name, key)
    size = image_size_of(cfg.arch)
    write_csv(split.train, run / "train.csv", size, cfg.protocol)
    write_csv(split.val, run / "val.csv", size, cfg.protocol)
    workers = cfg.workers if cfg.workers is not None else (4 if device.startswith("cuda") else 0)
    args = _open_clip_args(cfg, run / "train.csv", run / "val.csv", device, precision, workers)
    tag_cfg = _tag_cfg(cfg.arch, cfg.pretrained)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pin_memory.*")  # open_clip pins memory even on CPU
        trained = _train(run, state, args, init_path, tag_cfg, cfg, progress)
    if not (run / "kept.pt").is_file():
        raise AdaptError(f"run {name} produced no checkpoint (no epoch completed)")
    _check_finite(run / "kept.pt", name)
    model = _finish(name, corpus, split, cfg, state, init_spec, _saved_arch(cfg.arch, tag_cfg), device, precision)
    return AdaptResult(model, resumed_from_epoch=resumed, epochs_run=trained, already_done=False)
