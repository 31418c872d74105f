"""Benchmark of the intake bot: NLU cross-validation against two baselines, held-out accuracy,
REST latency with the action server, peak memory, cold training time and the environment.

    python -m bench.run [--quick] [--out bench/out] [--phases nlu,heldout,training,latency,crisis,components,flows]

Writes ``<out>/bench.json`` (+ a timestamped copy) and ``<out>/bench.md``; prints the Markdown.
``--quick`` (2 folds, DIET 5 epochs, few latency turns) is for checking the harness, not the bot.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # in-process fold training must not fill a training cache

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Dict, List  # noqa: E402

import psutil  # noqa: E402
import yaml  # noqa: E402

from bench import latency, nlu, procs, report  # noqa: E402

ROOT = procs.ROOT
MODEL = ROOT / "models" / "current.tar.gz"
CRISIS_FILES = [ROOT / "tests" / "data" / name for name in ("crisis_labelled.yml", "crisis_blind.yml", "crisis_blind2.yml")]
PHASES = ("nlu", "heldout", "training", "latency", "crisis", "components", "flows")
MODES = {
    "full": {"folds": 5, "epochs": None, "sequential_turns": 60, "concurrent": 20},
    "quick": {"folds": 2, "epochs": 5, "sequential_turns": 10, "concurrent": 4},
}
#: Modules the pipeline and the action server import; checked before anything slow starts.
REQUIRED_MODULES = ("bot.numbers", "bot.crisis", "bot.nlu.ja_tokenizer", "bot.nlu.quantity_extractor",
                    "bot.nlu.safety_override", "bot.nlu.intent_vote", "bot.actions")


def log(msg: str) -> None:
    """Progress goes to stderr; stdout carries only the Markdown table."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def quiet_libraries() -> None:
    """Silences rasa/TensorFlow warnings that would drown the progress lines."""
    from rasa.utils.log_utils import configure_structlog

    warnings.filterwarnings("ignore")
    warnings.showwarning = lambda *args, **kwargs: None  # some libraries re-enable warnings at import
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)  # before rasa's, which would use stdout
    configure_structlog(logging.ERROR)  # rasa 3.6 logs parse results through structlog at debug level
    for name in ("rasa", "tensorflow", "absl", "sanic", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)


def loadavg() -> List[float]:
    """1/5/15-minute load averages (other people's jobs on the machine skew timings)."""
    return [round(x, 2) for x in os.getloadavg()]


def preflight() -> None:
    """Fails fast (before minutes of training) when a project module does not import."""
    for name in REQUIRED_MODULES:
        importlib.import_module(name)


# --------------------------------------------------------------------------- environment

def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(train: nlu.Corpus, held: nlu.Corpus) -> Dict[str, Any]:
    """Machine, versions, commit and data sizes."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "cpu_count_physical": psutil.cpu_count(logical=False),
        "memory_total_mb": round(psutil.virtual_memory().total / 2**20),
        "platform": platform.platform(), "python": platform.python_version(),
        **{pkg: _version(pkg) for pkg in ("rasa", "rasa-sdk", "tensorflow", "scikit-learn", "spacy", "sudachipy")},
        "git_commit": _git_commit(),
        "training_data": {"path": "nlu/data", **nlu.corpus_stats(train)},
        "heldout_data": {"path": "nlu/heldout", **nlu.corpus_stats(held)},
        "data_hash": data_hash(),  # as in models/.data-hash; compared again at the end of the run
        "loadavg_at_start": loadavg(),
    }


# --------------------------------------------------------------------------- phases

def build_systems(mode: Dict[str, Any], extras: Dict[str, Any], workdir: Path) -> List[Any]:
    """Ours, the stock char n-gram DIET (same epochs as ours) and TF-IDF + logistic regression."""
    ours = nlu.our_config(mode["epochs"])
    epochs = nlu.diet_epochs(ours)
    return [nlu.RasaSystem(report.OURS, ours, extras, workdir),
            nlu.RasaSystem(report.CHAR_DIET, nlu.char_ngram_config(epochs), extras, workdir),
            nlu.TfidfLogRegSystem()]


def data_hash() -> str:
    """The hash scripts/train.sh stores in models/.data-hash (same files, same order)."""
    files = [ROOT / "config.yml", ROOT / "domain.yml", *sorted((ROOT / "nlu" / "data").glob("*.yml")),
             *sorted((ROOT / "bot" / "nlu").glob("*.py")), ROOT / "var" / "vectors" / "chive.npz"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def ensure_model() -> Dict[str, Any]:
    """models/current.tar.gz, trained with scripts/train.sh when missing; reports whether it is stale."""
    if not MODEL.exists():
        log("models/current.tar.gz missing: running scripts/train.sh")
        subprocess.run([str(ROOT / "scripts" / "train.sh")], cwd=ROOT, check=True, timeout=1800,
                       stdout=sys.stderr, env=procs.child_env())
    stored = (ROOT / "models" / ".data-hash")
    return {"path": str(MODEL.relative_to(ROOT)), "size_mb": round(MODEL.stat().st_size / 2**20, 1),
            "trained_at": datetime.fromtimestamp(MODEL.stat().st_mtime, timezone.utc).isoformat(timespec="seconds"),
            "up_to_date_with_data": stored.exists() and stored.read_text().strip() == data_hash()}


def phase_training(mode: Dict[str, Any], tmp: Path) -> Dict[str, Any]:
    """Cold `rasa train --data nlu/data` into a temp dir with a fresh, empty cache."""
    config = ROOT / "config.yml"
    if mode["epochs"]:
        config = tmp / "config.yml"
        config.write_text(yaml.safe_dump(nlu.our_config(mode["epochs"], nlu_only=False), allow_unicode=True),
                          encoding="utf-8")
    cmd = [str(procs.BIN / "rasa"), "train", "--data", "nlu/data", "--config", str(config), "--domain", "domain.yml",
           "--out", str(tmp / "models"), "--fixed-model-name", "cold"]
    result = procs.timed_run(cmd, tmp / "train.log", procs.child_env(RASA_CACHE_DIRECTORY=str(tmp / "cache")),
                             timeout=1800)
    return {"command": "rasa train --data nlu/data --config config.yml --domain domain.yml (fresh RASA_CACHE_DIRECTORY)",
            "epochs_overridden": mode["epochs"], **result}


def phase_latency(mode: Dict[str, Any], tmp: Path) -> Dict[str, Any]:
    """Starts the REST stack; sequential and concurrent conversations; RSS sampled throughout."""
    model = ensure_model()
    load_before = loadavg()
    with procs.rest_stack(MODEL, tmp) as stack:
        url = stack["url"]
        with procs.RssSampler(stack["pids"]) as sampler:
            warm = asyncio.run(latency.warm_up(url))
            log(f"[latency] warm-up turn {warm} ms; sequential conversations")
            seq = asyncio.run(latency.sequential(url, mode["sequential_turns"], slow_ms=150))
            log(f"[latency] {mode['concurrent']} concurrent conversations")
            conc = asyncio.run(latency.concurrent(url, mode["concurrent"], slow_ms=600))
        errors = procs.tracebacks(stack["logs"])
    out = {"model": model, "warm_up_turn_ms": warm, "sequential": latency.summarize(seq),
           "concurrent": latency.summarize(conc), "server_log_tracebacks": errors,
           "memory": sampler.report(), "loadavg_before": load_before, "loadavg_after": loadavg()}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:  # the same conversations with the Rasa server scaled out (docs/deployment.md)
        workers = 2
        log(f"[latency] {mode['concurrent']} concurrent conversations, {workers} Rasa workers + Redis lock store")
        with procs.rest_stack(MODEL, _mkdir(tmp / "scaled"), redis_url=redis_url, workers=workers) as stack:
            with procs.RssSampler(stack["pids"]) as sampler:
                asyncio.run(latency.warm_up(stack["url"]))
                scaled = asyncio.run(latency.concurrent(stack["url"], mode["concurrent"], slow_ms=600))
            out["concurrent_scaled"] = {**latency.summarize(scaled), "rasa_workers": workers, "lock_store": "redis",
                                        "memory": sampler.report(),
                                        "server_log_tracebacks": procs.tracebacks(stack["logs"])}
    return out


def phase_crisis() -> Dict[str, Any]:
    """bench/crisis_eval on every labelled crisis file (recall, false positives, latency)."""
    from bench import crisis_eval

    report_ = crisis_eval.evaluate_files(CRISIS_FILES)
    for item in report_["files"].values():  # the examples are in the test files; keep the JSON short
        item.pop("misclassified", None), item.pop("wrong_signal", None), item.pop("categories", None)
    if MODEL.exists():  # lexicon + DIET together, as the running bot decides
        report_["pipeline"] = crisis_eval.evaluate_pipeline(CRISIS_FILES, MODEL)
    return json.loads(json.dumps(report_, default=_plain, ensure_ascii=False))


def phase_components(mode: Dict[str, Any]) -> Dict[str, Any]:
    """Pieces timed on their own: date parsing, free-slot search and booking writes, console pages."""
    from bench.booking_bench import bench_booking
    from bench.console_bench import bench_console
    from bench.when_bench import bench_when

    quick = mode is MODES["quick"]
    out = {"when": bench_when(200 if quick else 1000), "booking": bench_booking(),
           "console": bench_console(tickets=1000, requests=10 if quick else 60)}
    with contextlib.suppress(ImportError):  # the statistics dashboard, once it exists
        from bench.stats_bench import bench_stats

        out["stats"] = bench_stats()
    return out


def phase_flows(mode: Dict[str, Any], tmp: Path) -> Dict[str, Any]:
    """Booking turns and staff-message delivery on the real stack (bench/flows.py)."""
    from bench import flows

    ensure_model()
    n = 5 if mode is MODES["quick"] else 20
    return flows.run(MODEL, tmp, residents=n, messages=n)


def run_phase(name: str, fn: Callable[[], Any], results: Dict[str, Any]) -> Any:
    """Runs one phase, timing it; a failure is recorded and the other phases still run."""
    start = time.monotonic()
    log(f"== {name}")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # rasa prints training chatter to stdout
            return fn()
    except Exception as exc:  # noqa: BLE001 - the benchmark reports, it does not crash
        log(f"!! {name} failed: {exc}")
        results["errors"][name] = traceback.format_exc()[-4000:]
        return None
    finally:
        results["phase_seconds"][name] = round(time.monotonic() - start, 1)


# --------------------------------------------------------------------------- main

def notes() -> List[str]:
    """How the figures were obtained, for whoever reads the JSON."""
    return [
        f"char_ngram_diet runs with language '{nlu.BASELINE_LANGUAGE}': WhitespaceTokenizer refuses 'ja'.",
        "Intent = final intent after the whole pipeline (FallbackClassifier, PolarityGuard, SafetyIntentOverride); "
        "nlu_fallback counts as wrong. Macro-F1 averages over the gold intents.",
        "Entity F1 'strict': type and integer value equal, spans overlap. DIET without a normaliser returns "
        "surface strings (「46歳」), which are not integers; 'type_span' shows its span/type agreement.",
        "Latency: one warm-up turn is excluded; each turn is timed from POST to complete JSON reply.",
        "Memory: RSS of each server's process tree sampled every 0.2 s during the latency runs; "
        "sum_peak_mb is the peak of the simultaneous sum.",
    ]


def parse_args(argv: List[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 folds, DIET 5 epochs, few latency turns")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    args = parser.parse_args(argv)
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {sorted(unknown)}")
    return args


def collect(args: argparse.Namespace, tmp: Path) -> Dict[str, Any]:
    """Runs the selected phases and assembles the results."""
    mode = MODES["quick" if args.quick else "full"]
    train, held = nlu.load_corpus(ROOT / "nlu" / "data"), nlu.load_corpus(ROOT / "nlu" / "heldout")
    systems = build_systems(mode, train.extras, tmp)
    results: Dict[str, Any] = {"quick": args.quick, "mode": mode, "environment": environment(train, held),
                               "systems": {s.name: s.describe() for s in systems}, "notes": notes(),
                               "errors": {}, "phase_seconds": {}}
    if "nlu" in args.phases:
        results["cross_validation"] = run_phase(
            "cross-validation", lambda: nlu.cross_validate(train, systems, mode["folds"], log), results)
    if "heldout" in args.phases:
        results["heldout"] = run_phase("held-out", lambda: nlu.heldout(train, held, systems, log), results)
    if "training" in args.phases:
        results["training"] = run_phase("cold training", lambda: phase_training(mode, _mkdir(tmp / "train")), results)
    if "latency" in args.phases:
        lat = run_phase("latency", lambda: phase_latency(mode, _mkdir(tmp / "stack")), results)
        results["latency"], results["memory"] = (lat, lat.pop("memory")) if lat else (None, None)
    if "crisis" in args.phases:
        results["crisis"] = run_phase("crisis", phase_crisis, results)
    if "components" in args.phases:
        results["components"] = run_phase("components", lambda: phase_components(mode), results)
    if "flows" in args.phases:
        results["flows"] = run_phase("flows", lambda: phase_flows(mode, _mkdir(tmp / "flows")), results)
    results["targets"] = report.checks(results)
    if data_hash() != results["environment"]["data_hash"]:
        results["notes"].append("WARNING: config, domain, nlu/data or bot/nlu changed during the run.")
    return results


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plain(obj: Any) -> Any:
    """JSON fallback: numpy scalars to Python numbers, anything else to its string."""
    return obj.item() if hasattr(obj, "item") else str(obj)


def write(results: Dict[str, Any], out: Path) -> str:
    """bench.json, bench-<timestamp>.json and bench.md in ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, ensure_ascii=False, indent=2, default=_plain)
    for name in ("bench.json", f"bench-{stamp}.json"):
        (out / name).write_text(text, encoding="utf-8")
    md = report.markdown(results)
    (out / "bench.md").write_text(md, encoding="utf-8")
    return md


def keep(out: Path, directory: Path) -> Path:
    """A complete run's bench.json copied to bench/results/ (committed, unlike bench/out/), named by
    its date, so the figures the README shows can be checked against the run that produced them."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bench-{datetime.now(timezone.utc):%Y%m%d}.json"
    shutil.copyfile(out / "bench.json", path)
    return path


def main(argv: List[str] | None = None) -> int:
    args = parse_args(argv)
    procs.install_cleanup()
    quiet_libraries()
    try:
        preflight()
    except Exception as exc:  # noqa: BLE001
        log(f"project modules do not import yet ({exc!r}); nothing was run")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        results = collect(args, Path(tmp))
    md = write(results, args.out)
    if not args.quick and not results["errors"] and set(args.phases) == set(PHASES):  # complete runs only
        report.paste_into_readme(md, procs.ROOT / "README.md")
        keep(args.out, procs.ROOT / "bench" / "results")
    print(md)
    log(f"wrote {args.out / 'bench.json'}" + (f"; phases with errors: {sorted(results['errors'])}" if results["errors"] else ""))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
