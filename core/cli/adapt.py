"""Commands ``adapt`` and ``adapted``: fine-tune CLIP on figure–text pairs; list adapted models."""
from __future__ import annotations

import sys

from ..corpora import load_corpus
from .common import add_corpus_arg, table
from .values import fraction, int_value, nonempty, nonneg_float, nonneg_int, positive_float, positive_int

_D = None  # AdaptConfig defaults, read lazily (keeps ``-h`` cheap)


def _defaults():
    global _D
    if _D is None:
        from ..adapt.spec import AdaptConfig

        _D = AdaptConfig()
    return _D


def _config(args):
    d = _defaults()
    return d.with_(arch=args.arch, pretrained=args.pretrained, text=args.text, protocol=args.protocol, lr=args.lr,
                   batch_size=args.batch_size, max_steps=args.max_steps, epochs=args.epochs, wd=args.wd,
                   warmup=args.warmup, schedule=args.schedule, patience=args.patience, keep=args.keep,
                   val_fraction=args.val_fraction, seed=args.seed, device=args.device,
                   precision=args.precision, workers=args.workers).validate()


def _bar():
    from tqdm import tqdm

    state: dict = {}

    def progress(done: int, total: int, message: str) -> None:
        bar = state.get("bar")
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, initial=done, unit="step", dynamic_ncols=True)
        bar.set_postfix_str(message.split(" · ETA")[0], refresh=False)
        bar.update(done - bar.n)

    return progress, state


def cmd_adapt(args) -> int:
    """``python -m core adapt``: fine-tune, then print where the model is and how to use it."""
    from ..adapt import adapt
    from ..adapt.train import preflight

    cfg = _config(args)
    corpus = load_corpus(args.corpus)
    bench = load_corpus(args.benchmark) if args.benchmark else None
    split = preflight(corpus, args.out, cfg, bench, overwrite=args.overwrite)  # --dry-run checks the same
    print(f"corpus {corpus.name}: {len(split.train)} training pairs ({split.train_patents} patents), "
          f"{len(split.val)} validation pairs ({split.val_patents} patents); text {cfg.text} cleaned by "
          f"{split.cleaning}")
    print(f"left out {len(split.excluded_patents)} benchmark patent(s) ({split.excluded_figures} figures)"
          f"{': ' + ', '.join(split.excluded_patents[:10]) if split.excluded_patents else ''}"
          f"{' …' if len(split.excluded_patents) > 10 else ''}; {split.without_text} figure(s) without text")
    if args.dry_run:
        return 0
    progress, state = _bar()
    try:
        res = adapt(corpus, args.out, cfg, benchmark=bench, progress=progress, overwrite=args.overwrite)
    except KeyboardInterrupt:
        print(f"\ninterrupted; every completed epoch is kept: run the same command again to resume {args.out}",
              file=sys.stderr)
        return 130
    finally:
        if state.get("bar") is not None:
            state["bar"].close()
    p = res.model.provenance
    if res.already_done:
        print(f"{args.out} was already trained with these data and settings; nothing to do")
    elif res.resumed_from_epoch:
        print(f"resumed from epoch {res.resumed_from_epoch}")
    kept, start = p.get("kept_val", {}), p.get("start_val", {})
    print(f"epochs {p['epochs_trained']}/{p['epochs_planned']}{' (stopped early)' if p['stopped_early'] else ''}, "
          f"kept epoch {p['kept_epoch']}: validation loss {start.get('val_loss', float('nan')):.4f} → "
          f"{kept.get('val_loss', float('nan')):.4f}, image→text R@1 {start.get('image_to_text_R@1', 0):.3f} → "
          f"{kept.get('image_to_text_R@1', 0):.3f}")
    print(f"checkpoint {res.model.checkpoint}\nencoder    {res.model.spec}")
    return 0


def cmd_adapted(args) -> int:
    """``python -m core adapted``: every adapted model with its provenance in one line."""
    from ..adapt import list_adapted
    from ..adapt.health import health

    models = list_adapted()
    if not models:
        print("no adapted models yet; make one with `python -m core adapt --corpus … --out NAME`")
        return 0
    rows = [[m.name, m.provenance.get("text_field", ""), m.provenance.get("corpus", {}).get("name", ""),
             str(m.provenance.get("train_pairs", "")), str(m.provenance.get("epochs_trained", "")),
             f"{m.provenance.get('kept_val', {}).get('val_loss', float('nan')):.4f}", m.spec] for m in models]
    checks = [health(m) for m in models]
    for row, h in zip(rows, checks):
        row.insert(6, "DEGENERATE" if h.degenerate else h.summary)
    print(table(rows, ["name", "text", "corpus", "pairs", "epochs", "val loss", "health", "encoder spec"]))
    for h in checks:
        if h.degenerate:
            print(f"degenerate  {h.name}: {'; '.join(h.problems)} — never selected by default; retrain "
                  "(another learning rate, a pretrained start, more pairs) or delete it")
    return 0


def register(sub) -> None:
    """Add ``adapt`` and ``adapted`` to ``sub``."""
    sp = sub.add_parser("adapt", help="fine-tune CLIP on figure-text pairs (UPAIR's CLIP-desc / CLIP-labels)")
    add_corpus_arg(sp)
    sp.add_argument("--out", type=nonempty, required=True, help="model name: writes cache/weights/NAME.pt + NAME.json")
    sp.add_argument("--text", choices=["desc", "labels"], help="pair figures with descriptions or labels (desc)")
    sp.add_argument("--benchmark", type=nonempty, help="another corpus whose query/candidate patents are left out too")
    sp.add_argument("--arch", type=nonempty, help="open_clip architecture (ViT-B-16)")
    sp.add_argument("--pretrained", type=nonempty, help="open_clip tag with local weights, a checkpoint path, or none (laion400m_e32)")
    sp.add_argument("--protocol", choices=["upair", "clean"], help="text cleaning (upair: the paper's)")
    sp.add_argument("--lr", type=positive_float, help="learning rate (3.54e-6, UPAIR)")
    sp.add_argument("--batch-size", type=positive_int, help="batch size (256, UPAIR)")
    sp.add_argument("--max-steps", type=positive_int, help="iteration cap, in whole epochs (33000, UPAIR)")
    sp.add_argument("--epochs", type=positive_int, help="number of epochs (overrides --max-steps)")
    sp.add_argument("--wd", type=nonneg_float, help="AdamW weight decay (0.1; UPAIR tuned 0.1/0.2, chosen value unpublished)")
    sp.add_argument("--warmup", type=nonneg_int, help="warm-up steps (min(10000, steps/10); unpublished)")
    sp.add_argument("--schedule", choices=["cosine", "const"], help="learning-rate schedule (cosine)")
    sp.add_argument("--patience", type=positive_int, help="early stopping: validations without improvement (3)")
    sp.add_argument("--keep", choices=["best", "last"], help="publish the epoch with the lowest validation loss "
                    "(best) or the last one")
    sp.add_argument("--val-fraction", type=fraction, help="fraction of patents held out for validation (0.1)")
    sp.add_argument("--seed", type=int_value, help="split and initialisation seed (0)")
    sp.add_argument("--device", type=nonempty, help="auto | cpu | cuda[:N] (auto)")
    sp.add_argument("--precision", choices=["auto", "fp32", "amp", "amp_bf16"], help="auto: amp on CUDA, fp32 on CPU")
    sp.add_argument("--workers", type=nonneg_int, help="data-loading workers (0 on CPU, 4 on CUDA)")
    sp.add_argument("--overwrite", action="store_true", help="replace a model or run of the same name")
    sp.add_argument("--dry-run", action="store_true", help="every check the real run makes (name, settings, weights, device, sizes), then show the pairs and exclusions; train nothing")
    sp.set_defaults(fn=cmd_adapt)
    sp2 = sub.add_parser("adapted", help="list adapted models and their provenance")
    sp2.set_defaults(fn=cmd_adapted)
