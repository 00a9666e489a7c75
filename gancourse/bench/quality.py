"""How good each image recipe's samples get on one budget, side by side: ``gancourse bench quality``.

Every recipe of :data:`gancourse.recipes.IMAGE_RECIPES` named trains the same networks
(:func:`gancourse.experiments.train_image_recipe`, Fashion-MNIST's train split) for the same budget:
CPU seconds on a CPU, turned into a number of generator steps per recipe by timing a few of its steps
first (so a recipe whose step costs more gets fewer steps), or the same number of steps everywhere
with ``steps``. Each seed's generator (its moving average, where the recipe keeps one) then draws
``n`` images, scored by :func:`gancourse.metrics.report.sample_report` against ``n`` real images of
the evaluation split: Fréchet distance, precision, recall and classes present in the shipped
classifier's features. The real floor beside them is ``n`` other real images scored the same way:
the train split's against the test split's, or two disjoint halves of the train split when the
recipes are compared on the train split (``split="train"``, the one to choose a recipe on).
"""

from __future__ import annotations

import os
import statistics as stats
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from gancourse.errors import ConfigError
from gancourse.recipes import IMAGE_RECIPES

BASELINE = "dcgan"
DEFAULT_RECIPES = ("dcgan", "dcgan-ema", "ttur", "diffaugment", "sngan", "sngan-ema-augment")
CALIBRATION_STEPS = (4, 24)  # a recipe's CPU cost per step: (time of 24 steps − time of 4) / 20


@dataclass
class QualityRun:
    """One recipe, one seed: its steps, its CPU and wall seconds, and its samples' scores."""

    recipe: str
    seed: int
    steps: int
    cpu_seconds: float
    wall_seconds: float
    fd: float
    precision: float
    recall: float
    classes_present: int | None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.wall_seconds


@dataclass
class QualityResult:
    """Every run of one ``bench quality`` command, the real floor, and what was measured."""

    dataset: str
    split: str
    features: str
    n: int
    width: int
    batch_size: int
    device: str
    threads: int
    budget_seconds: float | None  # CPU seconds per run; None when every recipe ran ``steps`` steps
    floor: dict  # the real images' own scores: fd, precision, recall, classes_present
    runs: list[QualityRun] = field(default_factory=list)
    inception: dict = field(default_factory=dict)  # recipe (and "real floor") -> Inception FID at n
    load: list = field(default_factory=list)  # one-minute load average at the start and at the end
    calibration: list | None = None  # the two run lengths each recipe's cost per step was timed from

    def recipes(self) -> list[str]:
        return list(dict.fromkeys(run.recipe for run in self.runs))

    def of(self, recipe: str) -> list[QualityRun]:
        return [run for run in self.runs if run.recipe == recipe]

    def mean(self, recipe: str, key: str) -> float:
        return stats.mean(getattr(run, key) for run in self.of(recipe))

    def gap(self, recipe: str) -> float:
        """Mean FD over the seeds minus the real floor's."""
        return self.mean(recipe, "fd") - self.floor["fd"]

    def best(self) -> str:
        """The recipe with the lowest mean FD."""
        return min(self.recipes(), key=lambda recipe: self.mean(recipe, "fd"))

    @classmethod
    def from_dict(cls, d: dict) -> QualityResult:
        """The result a :meth:`to_dict` record (a ``--json`` file) holds."""
        fields = {k: v for k, v in d.items() if k not in ("summary", "best")}
        return cls(**{**fields, "runs": [QualityRun(**run) for run in d["runs"]]})

    def merged(self, other: QualityResult) -> QualityResult:
        """One table of two commands' runs, when they measured the same way against the same real images."""
        same = ("dataset", "split", "features", "n", "width", "batch_size", "device", "threads", "budget_seconds",
                "calibration")
        differ = [k for k in same if getattr(self, k) != getattr(other, k)]
        if differ or abs(self.floor["fd"] - other.floor["fd"]) > 1e-9:
            raise ConfigError(f"these records measured differently ({', '.join(differ) or 'the real floor'}); "
                              "merge only records of one setting.")
        repeated = {(r.recipe, r.seed) for r in self.runs} & {(r.recipe, r.seed) for r in other.runs}
        if repeated:
            recipe, seed = sorted(repeated)[0]
            raise ConfigError(f"both records hold {recipe} seed {seed}; merge records of different runs.")
        return replace(self, runs=self.runs + other.runs, inception={**self.inception, **other.inception},
                       load=self.load + other.load)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["summary"] = {recipe: {key: self.mean(recipe, key) for key in ("fd", "precision", "recall", "steps")}
                        | {"gap": self.gap(recipe)} for recipe in self.recipes()}
        d["best"] = self.best() if self.runs else None
        return d

    def summary(self) -> str:
        def spread(recipe, key, fmt):
            values = [getattr(run, key) for run in self.of(recipe)]
            mean = stats.mean(values)
            sd = stats.stdev(values) if len(values) > 1 else 0.0
            return f"{mean:{fmt}} ± {sd:{fmt}}"

        budget = (f"{self.budget_seconds / 60:g} CPU-minutes per run" if self.budget_seconds
                  else f"{self.runs[0].steps if self.runs else 0} steps per run")
        lines = [f"Sample quality per recipe on {self.dataset}, {budget}, {self.device} ({self.threads} threads); "
                 f"width {self.width}, batch {self.batch_size}",
                 f"  n = {self.n} samples against the {self.split} split, {self.features} features",
                 f"  {'recipe':<20} {'seeds':>5} {'steps':>6} {'CPU s':>5} {'steps/s':>7} {'FD':>13} "
                 f"{'FD - floor':>10} {'precision':>13} {'recall':>13} {'classes':>7}"]
        for recipe in self.recipes():
            runs = self.of(recipe)
            classes = [run.classes_present for run in runs if run.classes_present is not None]
            lines.append(f"  {recipe:<20} {len(runs):>5} {round(self.mean(recipe, 'steps')):>6} "
                         f"{self.mean(recipe, 'cpu_seconds'):>5.0f} {self.mean(recipe, 'steps_per_second'):>7.2f} "
                         f"{spread(recipe, 'fd', '5.1f'):>13} "
                         f"{self.gap(recipe):>10.1f} {spread(recipe, 'precision', '.3f'):>13} "
                         f"{spread(recipe, 'recall', '.3f'):>13} {min(classes) if classes else '-':>7}")
        floor = self.floor
        lines.append(f"  {'real floor':<20} {'':>5} {'':>6} {'':>5} {'':>7} {floor['fd']:>13.2f} {0.0:>10.1f} "
                     f"{floor['precision']:>13.3f} {floor['recall']:>13.3f} {floor['classes_present'] or '-':>7}")
        if self.runs:
            best = self.best()
            lines.append(f"  best: {best}, FD − floor {self.gap(best):.1f}"
                         + (f" against {BASELINE}'s {self.gap(BASELINE):.1f} "
                            f"({self.gap(BASELINE) / max(self.gap(best), 1e-9):.2f}× smaller)"
                            if BASELINE in self.recipes() and best != BASELINE else ""))
        for name, value in self.inception.items():
            which = name if name == "real floor" else f"{name} (seed 0)"
            lines.append(f"  Inception FID at n = {self.n}, {which}: {value:.1f}")
        return "\n".join(lines)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def cpu_seconds_per_step(recipe: str, data, *, width: int, batch_size: int, device, threads: int) -> float:
    """CPU seconds one generator step of ``recipe`` costs, from two short runs (their setup cancels out)."""
    from gancourse.experiments import train_image_recipe

    times = []
    for steps in CALIBRATION_STEPS:
        start = time.process_time()
        train_image_recipe(recipe, data, steps=steps, batch_size=batch_size, width=width, device=device,
                           seed=0, progress=False, cpu_threads=threads)
        times.append(time.process_time() - start)
    return max((times[1] - times[0]) / (CALIBRATION_STEPS[1] - CALIBRATION_STEPS[0]), 1e-6)


def run_quality(recipes=DEFAULT_RECIPES, *, minutes: float | None = None, steps: int | None = None, seeds: int = 3,
                n: int = 2000, split: str = "test", dataset: str = "fashion-mnist", root=None, width: int = 64,
                batch_size: int = 128, device=None, threads: int = 1, inception: bool = False,
                log=None) -> QualityResult:  # fmt: skip
    """Train every recipe of ``recipes`` for ``seeds`` seeds on one budget and score it; see the module docstring.

    ``steps`` gives every run that many generator steps; otherwise each run gets ``minutes`` CPU-minutes (5 when
    neither is given; a time budget only on the CPU, where the process's CPU time measures the work). With
    ``inception``, the first seed of the best recipe and of the baseline (``"dcgan"``) are also scored by
    Inception FID at ``n``, beside the real floor's.
    """
    from gancourse.config import resolve_device
    from gancourse.data.images import load_images
    from gancourse.experiments import train_image_recipe
    from gancourse.metrics.fid import fid
    from gancourse.metrics.report import features_for, reference_sets, sample_report
    from gancourse.models import generate

    log = log or (lambda line: None)
    unknown = [r for r in recipes if r not in IMAGE_RECIPES]
    if unknown:
        raise ConfigError(f"unknown image recipe {unknown[0]!r}; choose from {', '.join(IMAGE_RECIPES)}.")
    if steps is not None and minutes is not None:
        raise ConfigError("give one budget: --minutes (CPU-minutes per run) or --steps (generator steps per run).")
    if n <= 3:
        raise ConfigError(f"--n {n} is too few: precision and recall look at 3 nearest neighbours; "
                          "give --n 100 or more.")
    device = resolve_device(device)
    if steps is None and device.type != "cpu":
        raise ConfigError(f"on {device} the budget is generator steps: add --steps N (for example --steps 3000); "
                          "CPU time does not measure work done on an accelerator.")
    minutes = 5.0 if steps is None and minutes is None else minutes
    threads = threads or torch.get_num_threads()
    features = features_for(dataset)
    result = QualityResult(dataset, split, features, n, width, batch_size, str(device), threads,
                           None if steps is not None else minutes * 60, {}, load=[load_average()],
                           calibration=None if steps is not None else list(CALIBRATION_STEPS))
    data = load_images(dataset, root=root, split="train")
    reference, floor_images = reference_sets(dataset, split, n, root)
    floor = sample_report(floor_images, reference, features, device=device)
    result.floor = {"fd": floor.fd, "precision": floor.precision, "recall": floor.recall,
                    "classes_present": floor.coverage.classes_present if floor.coverage else None}
    log(f"real floor: FD {floor.fd:.2f}, precision {floor.precision:.3f}, recall {floor.recall:.3f}")
    samples = {}
    for recipe in recipes:
        run_steps = steps
        if run_steps is None:
            per_step = cpu_seconds_per_step(recipe, data, width=width, batch_size=batch_size, device=device,
                                            threads=threads)
            run_steps = max(int(result.budget_seconds / per_step), 1)
            log(f"{recipe}: {per_step:.3f} CPU s per step, {run_steps} steps in {minutes:g} CPU-minutes")
        for seed in range(seeds):
            cpu, wall = time.process_time(), time.perf_counter()
            run = train_image_recipe(recipe, data, steps=run_steps, batch_size=batch_size, width=width,
                                     device=device, seed=seed, progress=False, cpu_threads=threads)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            images = generate(run.sampler, n=n, seed=1000 + seed)
            report = sample_report(images, reference, features, device=device)
            result.runs.append(QualityRun(recipe, seed, run_steps, cpu, wall, report.fd, report.precision,
                                          report.recall,
                                          report.coverage.classes_present if report.coverage else None))
            if seed == 0:
                samples[recipe] = images
            log(f"{recipe} seed {seed}: {run_steps} steps, {cpu:.0f} CPU s, FD {report.fd:.2f}, "
                f"precision {report.precision:.3f}, recall {report.recall:.3f}")
    if inception and result.runs:
        for name in dict.fromkeys(r for r in (result.best(), BASELINE) if r in samples):
            result.inception[name] = fid(reference, samples[name], features="inception", device=device)
            log(f"Inception FID {name}: {result.inception[name]:.1f}")
        result.inception["real floor"] = fid(reference, floor_images, features="inception", device=device)
    result.load.append(load_average())
    return result
