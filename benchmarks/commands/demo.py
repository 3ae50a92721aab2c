"""`clsdet demo-data OUT`: write the deterministic demo dataset and its benchmark config, then say what to run next."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "demo-data",
        help="write a deterministic multi-label demo dataset: label folders, a CVAT export and a ready config",
    )
    p.add_argument("out", help="folder to create (must be empty or absent unless --force)")
    p.add_argument("--images", type=int, default=600, help="number of images (default: 600)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed; the same seed gives the same bytes (default: 0)")
    p.add_argument("--size", type=int, default=160, help="image side in pixels (default: 160)")
    p.add_argument("--workers", type=int, help="render processes (default: 1 for small sets, else up to 4)")
    p.add_argument("--force", action="store_true", help="replace the demo outputs in a non-empty OUT")
    hard = p.add_argument_group("harder variants (defaults write the standard demo, byte for byte)")
    hard.add_argument(
        "--object-scale",
        type=float,
        default=1.0,
        help="multiply object sizes (0.1-1.5; 0.3 = objects 4-14%% of the image side: hard for a classifier "
        "at low resolution)",
    )
    hard.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="up to this many non-class shapes per image, painted in class colours (0-20)",
    )
    hard.add_argument(
        "--folder-noise", type=float, default=0.0,
        help="share of images mis-sorted into the folders (0-0.5); the CVAT export, the test truth, stays exact",
    )  # fmt: skip
    p.set_defaults(func=demo_cmd)


def demo_cmd(args) -> int:
    # deferred: benchmarks.demo imports PIL, numpy
    from benchmarks.demo import format_summary, generate

    summary = generate(
        args.out, args.images, args.seed, args.size, force=args.force, workers=args.workers,
        object_scale=args.object_scale, distractors=args.distractors, folder_noise=args.folder_noise,
    )  # fmt: skip
    print(format_summary(summary))
    config = Path(summary["out"]) / "clsdet.yaml"
    print("\nnext:")
    print(f"  clsdet data inspect {config}")
    print(f"  clsdet bench {config} --profile quick")
    return 0
