"""``gancourse pretrained list | check | rebuild``: the generators that ship inside the package."""

from __future__ import annotations


def run_list(args) -> int:
    from gancourse.pretrained import manifest

    records = manifest()
    if not records:
        print("no shipped generators")
    for name, r in records.items():
        if "sha256" not in r:
            print(f"{name}: {r['recipe']}, not built yet: run '{r['rebuild']}'")
            continue
        m = r["metrics"]
        print(f"{name}: {r['recipe']}, {r['bytes'] / 1e6:.1f} MB; FD {m['fd']:.2f}, precision {m['precision']:.3f}, "
              f"recall {m['recall']:.3f}, {m['classes_present']} classes (n = {m['n']}, {m['split']} split); "
              f"used by {', '.join(r['notebooks'])}\n  rebuilt by: {r['rebuild']}")
    return 0


def run_check(args) -> int:
    from gancourse.pretrained import manifest, verify

    for name in args.names or manifest():
        m = verify(name)
        print(f"{name}: file matches its checksum; FD {m['fd']:.2f}, precision {m['precision']:.3f}, "
              f"recall {m['recall']:.3f} as recorded")
    return 0


def run_rebuild(args) -> int:
    from gancourse.pretrained import rebuild

    rebuild(args.name, work_dir=args.work_dir)
    return 0


def register(groups) -> None:
    p = groups["top"].add_parser("pretrained", help="the generators shipped with the package: list, check, rebuild")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    sub.add_parser("list", help="each shipped generator, its scores and the command that rebuilds it").set_defaults(
        func=run_list)
    c = sub.add_parser("check", help="load each shipped generator and measure it again against its record")
    c.add_argument("names", nargs="*", help="names to check (default: all)")
    c.set_defaults(func=run_check)
    r = sub.add_parser("rebuild", help="train a shipped generator again by its recorded command and replace its file")
    r.add_argument("name")
    r.add_argument("--work-dir", default=None, help="where the training run is written meanwhile (default: /tmp)")
    r.set_defaults(func=run_rebuild)
