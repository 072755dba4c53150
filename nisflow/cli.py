"""The ``nisflow`` command line: ``integrate``, ``sample``, ``generate`` and ``bench``.

Examples::

    nisflow integrate camel --dim 4
    nisflow integrate mymod:f --dim 4 --save model.pt
    nisflow integrate path/to/file.py:f --dim 3 --loss kl --seed 1
    nisflow sample model.pt -n 100000 --out events.h5 --unweighted
    nisflow bench --quick --markdown table.md --plot plots/
    nisflow bench --suite physics --quick --out physics.txt
    nisflow generate drell-yan -n 100000 --out events.lhe --seed 1
    nisflow generate ee-mumu -n 10000 --out events.h5 --sqrt-s 91.188

A model saved by ``integrate --save`` remembers how its integrand was named (``camel`` with
``--dim 4``, or ``mymod:f``), so ``sample`` can recompute weights without ``--f``; pass ``--f``
to override it (the function is not stored, only its name). Usage errors (unknown option,
missing module, function with the wrong signature, wrong dimension) print one line and exit
with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

__all__ = [
    "main",
    "build_parser",
    "load_integrand",
    "CliError",
    "LoadedIntegrand",
    "GENERATE_PROCESSES",
]

_SPEC_SUFFIX = ".integrand.json"


class CliError(Exception):
    """A usage error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that raises :class:`CliError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{message}\n{self.format_usage().strip()}")


@dataclass(frozen=True)
class LoadedIntegrand:
    """An integrand named on the command line.

    Attributes:
        spec: the name as given (``"camel"``, ``"mymod:f"``, ``"dir/file.py:f"``).
        f: the function, ``f(x: Tensor[n, d]) -> Tensor[n]``.
        d: dimension.
        exact: the exact integral for built-in functions, else None.
    """

    spec: str
    f: Callable[[Tensor], Tensor]
    d: int
    exact: float | None


def _import_target(spec: str) -> Callable:
    """Import ``module:attr`` or ``path/to/file.py:attr``."""
    module_part, _, attr = spec.rpartition(":")
    if not module_part or not attr:
        raise CliError(f"Expected 'module:function' or 'path/to/file.py:function'; got {spec!r}.")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = Path(module_part)
        if not path.is_file():
            raise CliError(f"Expected a Python file at {module_part!r}; got no such file.")
        name = f"_nisflow_user_{path.stem}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise CliError(f"Expected an importable Python file; got {module_part!r}.")
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            raise CliError(
                f"Expected {module_part!r} to import; got {type(exc).__name__}: {exc}"
            ) from None
    else:
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:  # `nisflow integrate mymod:f` run beside mymod.py
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            raise CliError(
                f"Expected an importable module {module_part!r} (from {spec!r}); got "
                f"ModuleNotFoundError: {exc}. Check the name, or give a file: path/to/file.py:f."
            ) from None
        except Exception as exc:
            raise CliError(
                f"Expected module {module_part!r} to import; got {type(exc).__name__}: {exc}"
            ) from None
        finally:
            if added:
                sys.path.remove(cwd)
    if not hasattr(module, attr):
        names = sorted(
            n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
        )
        raise CliError(
            f"Expected a function {attr!r} in {module_part!r}; got none (callables there: "
            f"{', '.join(names) or 'none'})."
        )
    f = getattr(module, attr)
    if not callable(f):
        raise CliError(f"Expected {spec!r} to be a function; got {type(f).__name__}.")
    return f


def _check_signature(f: Callable, spec: str) -> None:
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return  # builtins without a signature: the probe call decides
    try:
        sig.bind(object())
    except TypeError:
        raise CliError(
            f"Expected {spec} to take one argument x (a batch of shape (n, d)); got "
            f"signature {getattr(f, '__name__', spec)}{sig}."
        ) from None


def _probe(f: Callable, d: int, spec: str) -> None:
    """Call ``f`` once on a few points to catch a wrong dimension or return shape early."""
    from nisflow.integrand import Integrand

    x = torch.rand(8, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    try:
        Integrand(f, d)(x)
    except Exception as exc:
        raise CliError(
            f"Expected {spec} to map a batch of shape (n, {d}) to values of shape (n,); calling "
            f"it on shape (8, {d}) gave {type(exc).__name__}: {exc}. Is --dim {d} right?"
        ) from None


def load_integrand(spec: str, d: int | None) -> LoadedIntegrand:
    """Resolve an integrand named on the command line.

    Args:
        spec: a built-in name (``camel``, ``camel4``, ``sinusoidal``, ``slashed``) or
            ``module:function`` or ``path/to/file.py:function``.
        d: the dimension (``--dim``); required for user functions and for built-in families.

    Raises:
        CliError: with a one-line explanation for every usage problem.
    """
    from nisflow.bench.functions import function_names, get_function

    if d is not None and d < 1:
        raise CliError(f"Expected --dim to be a positive integer; got {d}.")
    if ":" not in spec:
        try:
            bench = get_function(spec, d)
        except KeyError:
            raise CliError(
                f"Expected a built-in function ({', '.join(function_names())}) or "
                f"'module:function'; got {spec!r}."
            ) from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
        return LoadedIntegrand(spec, bench.f, bench.d, bench.exact)
    f = _import_target(spec)
    if d is None:
        raise CliError(f"Expected --dim for the user function {spec!r}; got none.")
    _check_signature(f, spec)
    _probe(f, d, spec)
    return LoadedIntegrand(spec, f, d, None)


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nisflow`` command."""
    from nisflow import __version__
    from nisflow.losses import LOSSES
    from nisflow.training.survey import SURVEY_STRATEGIES

    p = _Parser(prog="nisflow", description="Neural importance sampling with normalizing flows.")
    p.add_argument("--version", action="version", version=f"nisflow {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    pi = sub.add_parser("integrate", help="integrate a built-in or user function on [0,1]^d")
    pi.add_argument("function", help="camel, sinusoidal, slashed, camel4, ... or module:function")
    pi.add_argument("--dim", "-d", type=int, default=None, help="dimension d")
    pi.add_argument("--survey-points", type=int, default=None, help="points per survey iteration")
    pi.add_argument("--survey-iters", type=int, default=None, help="survey iterations")
    pi.add_argument("--refine-points", type=int, default=None, help="points per refine iteration")
    pi.add_argument("--refine-iters", type=int, default=None, help="refine iterations")
    pi.add_argument("--loss", default=None, help=f"training loss: {', '.join(sorted(LOSSES))}")
    pi.add_argument(
        "--strategy",
        default=None,
        help=f"survey strategy: {', '.join(sorted(SURVEY_STRATEGIES))}",
    )
    pi.add_argument("--flow", default=None, help="flow name (e.g. rq_spline)")
    pi.add_argument(
        "--device", default=None, help="torch device: cpu, cuda, cuda:1 (default: auto)"
    )
    pi.add_argument("--seed", type=int, default=None, help="seed for reproducible results")
    pi.add_argument("--save", default=None, metavar="MODEL.pt", help="save the trained model")
    pi.add_argument("--quiet", "-q", action="store_true", help="print only the result line")

    ps = sub.add_parser("sample", help="draw events from a saved model into an HDF5 file")
    ps.add_argument("model", help="model file written by `nisflow integrate --save`")
    ps.add_argument("-n", type=int, required=True, help="number of events")
    ps.add_argument("--out", required=True, metavar="EVENTS.h5", help="HDF5 output file")
    ps.add_argument("--unweighted", action="store_true", help="unweight (hit-or-miss)")
    ps.add_argument(
        "--f",
        dest="function",
        default=None,
        help="integrand (default: the one the model was trained on)",
    )
    ps.add_argument("--dim", "-d", type=int, default=None, help="dimension of --f")
    ps.add_argument("--device", default=None, help="torch device")
    ps.add_argument("--seed", type=int, default=None, help="seed")

    pg = sub.add_parser(
        "generate", help="integrate a physics process and write unweighted events (LHE or HDF5)"
    )
    pg.add_argument("process", help=f"one of: {', '.join(GENERATE_PROCESSES)}")
    pg.add_argument("-n", type=int, required=True, help="number of events")
    pg.add_argument(
        "--out", required=True, metavar="FILE", help="events.lhe, events.lhe.gz, events.h5"
    )
    pg.add_argument(
        "--format", choices=("lhe", "h5"), default=None, help="file format (default: from --out)"
    )
    pg.add_argument("--weighted", action="store_true", help="write weighted events (f/q)")
    pg.add_argument("--zprime", action="store_true", help="drell-yan: add a Z' (400 GeV, 0.5 GeV)")
    pg.add_argument("--sqrt-s", type=float, default=None, help="collision energy in GeV")
    pg.add_argument("--pdf", default="NNPDF40_lo_as_01180", help="LHAPDF set name")
    pg.add_argument("--pdf-path", default=None, help="folder searched before LHAPDF_DATA_PATH")
    pg.add_argument("--survey-points", type=int, default=None, help="points per survey iteration")
    pg.add_argument("--survey-iters", type=int, default=None, help="survey iterations")
    pg.add_argument("--refine-points", type=int, default=None, help="points per refine iteration")
    pg.add_argument("--refine-iters", type=int, default=None, help="refine iterations")
    pg.add_argument("--device", default=None, help="torch device: cpu, cuda, cuda:1")
    pg.add_argument("--seed", type=int, default=None, help="seed for reproducible events")
    pg.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    pb = sub.add_parser(
        "bench", help="run a benchmark suite (BENCHMARKS.md Suite A, or Suite C: --suite physics)"
    )
    pb.add_argument("--quick", action="store_true", help="small budget and few functions (CI)")
    pb.add_argument(
        "--suite",
        choices=("a", "physics"),
        default="a",
        help="a: the test functions of Suite A (default); physics: Suite C, speed-up over VEGAS, "
        "Z' width scan and buffered training (nisflow.bench.physics)",
    )
    pb.add_argument("--seed", type=int, default=0, help="seed of the physics suite's runs")
    pb.add_argument("--functions", default=None, help="comma-separated names (default: Suite A)")
    pb.add_argument(
        "--methods",
        default="nisflow,uniform,vegas,madnis",
        help="comma-separated: nisflow, uniform, vegas, madnis",
    )
    pb.add_argument("--seeds", type=int, default=1, help="number of seeds (0, 1, ...)")
    pb.add_argument("--device", default="cpu", help="torch device (VEGAS always uses the CPU)")
    pb.add_argument("--budget-survey", type=int, default=None, help="survey evaluations")
    pb.add_argument("--budget-refine", type=int, default=None, help="refine evaluations")
    pb.add_argument("--iters-survey", type=int, default=None, help="survey iterations")
    pb.add_argument("--iters-refine", type=int, default=None, help="refine iterations")
    pb.add_argument(
        "--n-unweight", type=int, default=None, help="events for unweighting efficiency"
    )
    pb.add_argument(
        "--out",
        default=None,
        metavar="RESULTS.jsonl",
        help="Suite A: append JSON lines here; physics: write the tables (.txt) or rows (.json)",
    )
    pb.add_argument("--markdown", default=None, metavar="TABLE.md", help="write a markdown table")
    pb.add_argument("--plot", default=None, metavar="DIR", help="write PNG plots into DIR")
    pb.add_argument(
        "--report",
        default=None,
        metavar="RESULTS.jsonl",
        help="run nothing: render the table (and history plots) of a results file",
    )
    return p


# -- commands -------------------------------------------------------------------------------


def _device(name: str | None) -> torch.device | None:
    if name is None:
        return None
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise CliError(
            f"Expected a torch device such as cpu or cuda; got {name!r} ({exc})."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CliError(f"Expected a CUDA device for --device {name}; got none available.")
    return dev


def _positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise CliError(f"Expected {option} to be a positive integer; got {value}.")


def _cmd_integrate(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from nisflow.integrator import Integrator

    for opt in ("survey_points", "survey_iters", "refine_points", "refine_iters"):
        _positive(getattr(args, opt), "--" + opt.replace("_", "-"))
    integrand = load_integrand(args.function, args.dim)
    kwargs: dict[str, object] = {}
    for opt, key in (
        ("survey_points", "n_points_survey"),
        ("survey_iters", "n_iter_survey"),
        ("refine_points", "n_points_refine"),
        ("refine_iters", "n_iter_refine"),
        ("loss", "loss"),
        ("strategy", "survey_strategy"),
        ("flow", "flow"),
        ("seed", "seed"),
    ):
        value = getattr(args, opt)
        if value is not None:
            kwargs[key] = value
    try:
        integ = Integrator(
            integrand.d, integrand.f, device=_device(args.device), verbose=not args.quiet, **kwargs
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    result = integ.integrate()
    if not args.quiet:
        out(result.summary())
    line = f"{integrand.spec} (d={integrand.d}): {result}"
    if integrand.exact is not None:
        pull = (result.mean - integrand.exact) / result.sdev if result.sdev > 0 else float("nan")
        line += f"   exact {integrand.exact:.8g}   pull {pull:+.2f}"
    out(line)
    if args.save:
        integ.save(args.save)
        spec = {"function": integrand.spec, "dim": integrand.d}
        Path(str(args.save) + _SPEC_SUFFIX).write_text(json.dumps(spec) + "\n")
        out(f"saved model to {args.save} (integrand name in {args.save}{_SPEC_SUFFIX})")
    return 0


def _cmd_sample(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from nisflow.events import require_h5py, write_events
    from nisflow.integrator import Integrator

    _positive(args.n, "-n")
    model = Path(args.model)
    if not model.is_file():
        raise CliError(f"Expected a model file at {args.model!r}; got no such file.")
    try:
        require_h5py()
    except ImportError as exc:
        raise CliError(str(exc)) from None
    spec_file = Path(str(model) + _SPEC_SUFFIX)
    if args.function is not None:
        integrand = load_integrand(args.function, args.dim)
    elif spec_file.is_file():
        saved = json.loads(spec_file.read_text())
        integrand = load_integrand(saved["function"], args.dim or saved["dim"])
    else:
        raise CliError(
            f"Expected --f (the integrand, to compute weights): {args.model!r} has no "
            f"{spec_file.name} beside it."
        )
    kwargs: dict[str, object] = {"verbose": False}
    if args.device is not None:
        kwargs["device"] = _device(args.device)
    try:
        integ = Integrator.load(model, f=integrand.f, **kwargs)
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise CliError(
            f"Expected a model saved by nisflow; loading {args.model!r} gave: {exc}"
        ) from None
    if integ.d != integrand.d:
        raise CliError(f"Expected --f of dimension {integ.d} (the model's); got {integrand.d}.")
    if args.seed is not None:
        integ.generator.manual_seed(args.seed)
    meta: dict[str, str | int | float] = {"integrand": integrand.spec, "model": str(model)}
    if args.unweighted:
        events = integ.unweight(args.n)
        x, w, log_q = events.x, events.weights, None
        kind = "unweighted"
        meta.update(
            efficiency=events.efficiency,
            max_weight=events.max_weight,
            overweight_fraction=events.overweight_fraction,
            n_trials=events.n_trials,
        )
    else:
        x, w, log_q = integ.sample(args.n)
        kind = "weighted"
        mean = float(w.mean())
        meta.update(integral=mean, integral_error=float(w.std() / max(w.numel(), 1) ** 0.5))
    write_events(args.out, x, w, kind=kind, log_q=log_q, metadata=meta)
    out(f"wrote {x.shape[0]} {kind} events (d={integrand.d}) to {args.out}")
    if args.unweighted:
        out(f"unweighting efficiency {events.efficiency:.4g} ({events.n_trials} trials)")
    return 0


GENERATE_PROCESSES = ("drell-yan", "ee-mumu", "emu-emu", "ddbar-ddbar")
"""Processes known to ``nisflow generate``."""


def _build_process(args: argparse.Namespace) -> torch.nn.Module:
    """The process named on the command line, or a :class:`CliError` (unknown name, no PDF)."""
    from nisflow import physics

    name = args.process
    if name not in GENERATE_PROCESSES:
        raise CliError(f"Expected a process from {', '.join(GENERATE_PROCESSES)}; got {name!r}.")
    if args.zprime and name != "drell-yan":
        raise CliError(f"Expected --zprime only with drell-yan; got process {name!r}.")
    if args.sqrt_s is not None and not args.sqrt_s > 0:
        raise CliError(f"Expected --sqrt-s to be a positive energy in GeV; got {args.sqrt_s}.")
    try:
        if name == "ee-mumu":
            return physics.EEToMuMu(args.sqrt_s or 91.188)
        if name == "emu-emu":
            return physics.EMuToEMu(args.sqrt_s or 1000.0)
        if name == "ddbar-ddbar":
            return physics.DDbarToDDbar(args.sqrt_s or 1000.0, args.pdf, pdf_path=args.pdf_path)
        zprime = dict(mass=400.0, width=0.5) if args.zprime else None
        return physics.DrellYan(
            args.sqrt_s or 13000.0, args.pdf, zprime=zprime, pdf_path=args.pdf_path
        )
    except physics.PDFNotFoundError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _output_format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return args.format
    name = str(args.out).lower()
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith((".lhe", ".lhe.gz")):
        return "lhe"
    raise CliError(
        f"Expected --out ending in .lhe, .lhe.gz or .h5 (or --format); got {args.out!r}."
    )


def _cmd_generate(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from nisflow.integrator import Integrator
    from nisflow.physics import append_particles_h5, write_lhe
    from nisflow.physics.check_drell_yan import MG5_ERROR_PB, MG5_SIGMA_PB

    _positive(args.n, "-n")
    for opt in ("survey_points", "survey_iters", "refine_points", "refine_iters"):
        _positive(getattr(args, opt), "--" + opt.replace("_", "-"))
    fmt = _output_format(args)
    if fmt == "h5":
        from nisflow.events import require_h5py

        try:
            require_h5py()
        except ImportError as exc:
            raise CliError(str(exc)) from None
    device = _device(args.device) or torch.device("cpu")
    process = _build_process(args).to(device)
    kwargs: dict[str, object] = {}
    for opt, key in (
        ("survey_points", "n_points_survey"),
        ("survey_iters", "n_iter_survey"),
        ("refine_points", "n_points_refine"),
        ("refine_iters", "n_iter_refine"),
        ("seed", "seed"),
    ):
        value = getattr(args, opt)
        if value is not None:
            kwargs[key] = value
    integ = Integrator(process.d, process, device=device, verbose=not args.quiet, **kwargs)
    result = integ.integrate()
    line = f"{args.process}: sigma = {result.mean:.6g} +- {result.sdev:.2g} pb ({result})"
    default_dy = (
        args.process == "drell-yan"
        and not args.zprime
        and args.sqrt_s in (None, 13000.0)
        and args.pdf == "NNPDF40_lo_as_01180"
    )
    if default_dy:
        err = (result.sdev**2 + MG5_ERROR_PB**2) ** 0.5
        line += f"   MG5aMC {MG5_SIGMA_PB} +- {MG5_ERROR_PB} pb, pull {(result.mean - MG5_SIGMA_PB) / err:+.2f}"
    out(line)
    if args.weighted:
        x, w, _ = integ.sample(args.n)
        kind = "weighted"
    else:
        events = integ.unweight(args.n)
        x, w, kind = events.x, events.weights, "unweighted"
        out(f"unweighting efficiency {events.efficiency:.4g} ({events.n_trials} trials)")
    particles = process.events(x.to(device), generator=integ.generator)
    header = {
        "process": args.process,
        "sqrt_s": process.sqrt_s,
        "seed": args.seed,
        "zprime": bool(args.zprime),
        "pdf": args.pdf if hasattr(process, "pdf") else "none",
        "integrand_evaluations": result.n_evals,
    }
    if fmt == "lhe":
        write_lhe(
            args.out,
            particles,
            w,
            beams=process.beams,
            cross_section=result.mean,
            error=result.sdev,
            weighted=args.weighted,
            header=header,
        )
    else:
        from nisflow.events import write_events

        meta = {k: str(v) if v is None or isinstance(v, bool) else v for k, v in header.items()}
        meta.update(cross_section=result.mean, cross_section_error=result.sdev)
        write_events(args.out, x, w, kind=kind, metadata=meta)
        append_particles_h5(args.out, particles)
    out(f"wrote {x.shape[0]} {kind} events to {args.out} ({fmt})")
    return 0


def _cmd_bench(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from nisflow.baselines.record import Budget
    from nisflow.bench.functions import SUITE_A, function_names, get_function
    from nisflow.bench.report import markdown_table
    from nisflow.bench.runner import (
        FULL_BUDGET,
        METHODS,
        QUICK_BUDGET,
        QUICK_FUNCTIONS,
        run_benchmark,
    )

    if args.suite == "physics":
        return _bench_physics(args)
    if args.report is not None:
        return _bench_report(args, out)
    base = QUICK_BUDGET if args.quick else FULL_BUDGET
    for opt in ("budget_survey", "budget_refine", "iters_survey", "iters_refine", "n_unweight"):
        _positive(getattr(args, opt), "--" + opt.replace("_", "-"))
    _positive(args.seeds, "--seeds")
    try:
        budget = Budget(
            n_survey=args.budget_survey or base.n_survey,
            n_refine=args.budget_refine or base.n_refine,
            n_iter_survey=args.iters_survey or base.n_iter_survey,
            n_iter_refine=args.iters_refine or base.n_iter_refine,
            n_unweight=args.n_unweight or base.n_unweight,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    default = QUICK_FUNCTIONS if args.quick else SUITE_A
    functions = [s for s in (args.functions or ",".join(default)).split(",") if s]
    for name in functions:
        try:
            get_function(name)
        except (KeyError, ValueError):
            raise CliError(
                f"Expected functions with a dimension from {', '.join(function_names())} "
                f"(e.g. camel4); got {name!r}."
            ) from None
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise CliError(f"Expected methods from {', '.join(METHODS)}; got {', '.join(unknown)}.")
    device = _device(args.device)
    out(
        f"nisflow bench: {len(functions)} functions x {len(methods)} methods x {args.seeds} seeds; "
        f"budget {budget.n_survey} survey + {budget.n_refine} refine evaluations "
        f"({budget.n_iter_survey} + {budget.n_iter_refine} iterations)"
    )
    results = run_benchmark(
        functions,
        methods,
        seeds=range(args.seeds),
        budget=budget,
        device=device,
        out=args.out,
        n_keep_points=50_000 if args.plot else 0,
        log=out,
    )
    rows = [r.row for r in results]
    title = f"nisflow bench{' --quick' if args.quick else ''}"
    table = markdown_table(rows, title=title)
    out("")
    out(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
        out(f"wrote {args.markdown}")
    if args.plot:
        from nisflow.bench.plots import plot_results

        try:
            files = plot_results(results, args.plot)
        except ImportError as exc:
            raise CliError(str(exc)) from None
        out(f"wrote {len(files)} plots to {args.plot}")
    if args.out:
        out(f"appended {len(rows)} rows to {args.out}")
    failed = [r for r in rows if "error_msg" in r]
    return 1 if failed else 0


_SUITE_A_ONLY = (
    "functions",
    "budget_survey",
    "budget_refine",
    "iters_survey",
    "iters_refine",
    "n_unweight",
    "markdown",
    "plot",
    "report",
)


def _bench_physics(args: argparse.Namespace) -> int:
    """``nisflow bench --suite physics``: :func:`nisflow.bench.physics.main` with these options."""
    from nisflow.bench import physics

    used = [o for o in _SUITE_A_ONLY if getattr(args, o) is not None]
    if used:
        names = ", ".join("--" + o.replace("_", "-") for o in used)
        raise CliError(
            f"Expected only --quick, --device, --seed and --out with --suite physics; got {names} "
            "(run python -m nisflow.bench.physics --help for its own options)."
        )
    argv = ["--device", args.device, "--seed", str(args.seed)]
    if args.quick:
        argv.append("--quick")
    if args.out:
        argv += ["--out", args.out]
    return physics.main(argv, prog="nisflow bench --suite physics")


def _bench_report(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """``nisflow bench --report results.jsonl``: table and history plots from stored rows."""
    from nisflow.bench.report import markdown_table, read_rows

    path = Path(args.report)
    if not path.is_file():
        raise CliError(f"Expected a results file at {args.report!r}; got no such file.")
    try:
        rows = read_rows(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    table = markdown_table(rows, title=f"results from {path.name}")
    out(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
        out(f"wrote {args.markdown}")
    if args.plot:
        from nisflow.bench.plots import plot_rows

        try:
            files = plot_rows(rows, args.plot)
        except ImportError as exc:
            raise CliError(str(exc)) from None
        out(f"wrote {len(files)} plots to {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nisflow`` command; return the exit status (0 ok, 1 failed runs, 2 usage)."""
    parser = build_parser()

    def out(msg: str) -> None:
        print(msg, flush=True)

    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        if args.command is None:
            parser.print_help()
            return 2
        command = {
            "integrate": _cmd_integrate,
            "sample": _cmd_sample,
            "bench": _cmd_bench,
            "generate": _cmd_generate,
        }
        return command[args.command](args, out)
    except CliError as exc:
        print(f"nisflow: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
