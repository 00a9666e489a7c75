"""``gancourse exercises build OUT``: the notebooks as students get them, solutions cleared.

Writes the student version of every notebook of the course (or of ``--notebooks DIR``) into ``OUT``
with :func:`gancourse.exercises.build_student_versions`: nbgrader's ``ClearSolutions`` replaces each
reference solution by ``raise NotImplementedError()``, outputs are cleared, nothing else changes. An
``OUT`` that already holds files is written into only with ``--force``. Explained in the README ("Homework").
"""

from __future__ import annotations

from pathlib import Path


def run_build(args) -> int:
    from gancourse.errors import CommandError
    from gancourse.exercises import build_student_versions, exercise_count

    source = Path(args.notebooks)
    if not source.is_dir():
        raise CommandError(f"--notebooks {source} is not a folder of notebooks.")
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise CommandError(f"--notebooks {source} holds no .ipynb file.")
    written = build_student_versions(notebooks, Path(args.out), force=args.force)
    counts = [exercise_count(path) for path in written]
    print(f"wrote {len(written)} student notebooks to {args.out}: {sum(counts)} exercises "
          f"in {sum(1 for n in counts if n)} of them")
    return 0


def register(groups) -> None:
    from gancourse.exercises import NOTEBOOKS_DIR

    p = groups["top"].add_parser("exercises", help="the notebooks' exercises: write the student versions")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    build = sub.add_parser("build", help="write every notebook with its solutions cleared (needs the teach extra)")
    build.add_argument("out", metavar="OUT", help="folder to write the student notebooks to")
    build.add_argument("--notebooks", default=str(NOTEBOOKS_DIR),
                       help=f"folder of the notebooks with their solutions (default {NOTEBOOKS_DIR})")
    build.add_argument("--force", action="store_true", help="write into OUT even if it already holds files")
    build.set_defaults(func=run_build)
