"""`clsdet config --example | --reference | CONFIG --resolved`: every config key, generated from the config
dataclasses, or one config file resolved (profile and --set applied, defaults filled in) exactly as a run saves it."""

from __future__ import annotations

import yaml

from benchmarks.cli import CliError
from benchmarks.commands.args import add_set
from benchmarks.config import load_config
from benchmarks.config.doc import example_yaml, reference_markdown


def register(sub) -> None:
    p = sub.add_parser(
        "config",
        help="print a commented example config with every key, the key reference, or a config resolved",
        description="clsdet config --example | --reference | CONFIG [--profile P] [--set KEY=VALUE] --resolved",
    )
    p.add_argument("config", nargs="?", help="a benchmark config (YAML) to resolve (with --resolved)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--example", action="store_true", help="a commented YAML config with every key and its default")
    g.add_argument("--reference", action="store_true", help="the README's config reference (Markdown tables)")
    g.add_argument(
        "--resolved",
        action="store_true",
        help="print CONFIG resolved (profile and --set applied, every default filled in, validated) as the run "
        "saves it in config.resolved.yaml, and exit",
    )
    p.add_argument("--profile", help="with --resolved: a profile defined in the config (quick, full)")
    add_set(p, "with --resolved: ")
    p.set_defaults(func=config_cmd)


def resolved_yaml(cfg) -> str:
    """The text benchmarks.config.save_resolved writes into a run folder."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def config_cmd(args) -> int:
    wants_file = bool(args.resolved or args.profile or args.overrides)
    if wants_file and not args.config:
        raise CliError("--resolved, --profile and --set need a config file: clsdet config CONFIG --resolved")
    if args.config and not args.resolved:
        raise CliError(f"what to do with {args.config}? add --resolved to print it resolved")
    if args.resolved:
        from benchmarks.data.roles import resolve_label_roles  # deferred: the readers import numpy

        cfg = load_config(args.config, profile=args.profile, overrides=args.overrides)
        resolve_label_roles(cfg)  # as a bench resolves them before it writes config.resolved.yaml
        print(resolved_yaml(cfg), end="")
        return 0
    print(reference_markdown() if args.reference else example_yaml(), end="")
    return 0
