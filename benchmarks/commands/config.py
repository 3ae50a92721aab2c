"""`clsdet config --example | --reference`: every config key, generated from the config dataclasses."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("config", help="print a commented example config with every key, or the key reference")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--example", action="store_true", help="a commented YAML config with every key and its default")
    g.add_argument("--reference", action="store_true", help="the README's config reference (Markdown tables)")
    p.set_defaults(func=config_cmd)


def config_cmd(args) -> int:
    from benchmarks.config_doc import example_yaml, reference_markdown

    print(reference_markdown() if args.reference else example_yaml(), end="")
    return 0
