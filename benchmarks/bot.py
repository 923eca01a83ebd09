"""Service-bot benchmark: answer quality on the evaluation question set, and answer latency with a
1,000-article knowledge base.

1. Loads the evaluation knowledge base (``kehu/bot/evaluation/articles.py``: 36 topics × zh + en =
   72 articles) into a new workspace of the database of ``KEHU_DATABASE_URL`` (migrated here).
2. Splits the questions (``questions.py``: 3 zh + 3 en paraphrases per topic, 80 out-of-scope
   questions) into a tuning half and a test half; sweeps the answer threshold on the tuning half and
   chooses the lowest threshold whose wrong answers (wrong in-scope answers + answered out-of-scope
   questions, over all questions) stay under 5 %. The test half is only scored, never tuned on.
   ``--fit`` also refits the confidence's logistic weights on the tuning half (prints them).
3. Adds deterministic filler articles up to ``--articles`` (default 1,000), scores the test half
   again and times ``bot.services.ask`` end to end (search, decision, conversation and turn rows) for
   every question: p50 / p95.

Prints tables and writes ``benchmarks/results/bot-<db>-<date>.json`` with the load average::

    KEHU_DATABASE_URL=sqlite:////tmp/bot.sqlite3 .venv/bin/python benchmarks/bot.py
    scripts/pg-server run -- .venv/bin/python benchmarks/bot.py
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import percentile  # noqa: E402 - the HTTP benchmark's percentile, one definition

LATENCY_TARGET_MS = 300.0


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def table(rows: list[dict]) -> str:
    head = (
        "| threshold | in-scope correct | in-scope wrong | in-scope clarify/handover "
        "(right article offered) | out-of-scope answered (wrong) | out-of-scope clarify/handover | "
        "wrong, all questions |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['threshold']:.2f} | {pct(r['in_correct'])} | {pct(r['in_wrong'])} | "
            f"{pct(r['in_not_answered'])} ({pct(r['in_clarified_right'])}) | {pct(r['out_answered'])} | "
            f"{pct(r['out_not_answered'])} | {pct(r['wrong_overall'])} |"
        )
    return "\n".join(lines)


def fit(outcomes_with_features) -> tuple:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from kehu.knowledge.search import features_vector

    x = np.array([features_vector(f) for f, _ok in outcomes_with_features])
    y = np.array([1 if ok else 0 for _f, ok in outcomes_with_features])
    model = LogisticRegression().fit(x, y)
    return (round(float(model.intercept_[0]), 2), *(round(float(c), 2) for c in model.coef_[0]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=1000, help="knowledge-base size for the latency run")
    parser.add_argument("--fit", action="store_true", help="refit the confidence weights on the tuning half")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from kehu.bot import engine, services
    from kehu.bot.evaluation import harness
    from kehu.users.models import User
    from kehu.workspaces.services import actor_for, create_workspace

    call_command("migrate", verbosity=0)
    slug = f"bot-bench-{int(time.time())}"
    owner = User.objects.create_user(email=f"owner@{slug}.test", password="bench-password-123", name="Owner")
    workspace = create_workspace("Bot bench", owner, slug=slug)
    tune, test = harness.halves()
    result: dict = {
        "database": connection.vendor,
        "machine": platform.platform(),
        "load_average": os.getloadavg(),
        "started": datetime.now(UTC).isoformat(),
        "questions": {
            "tune": len(tune),
            "test": len(test),
            "out_of_scope": sum(1 for r in tune + test if r[1] is None),
        },
    }
    with scope(workspace=workspace):
        actor = actor_for(owner, workspace)
        topic_of = harness.load_kb(actor)
        result["kb_articles"] = len(topic_of)
        if args.fit:
            rows = []
            for _lang, expected, question in tune:
                hits, _ = engine.retrieve(workspace, question)
                if hits:
                    rows.append((hits[0].features, topic_of.get(hits[0].article.pk) == expected))
            weights = fit(rows)
            print("confidence weights (fitted on the tuning half):", weights)
            from kehu.knowledge import search

            search.CONFIDENCE_WEIGHTS = weights
            result["fitted_weights"] = weights
        tune_out = harness.run_questions(workspace, topic_of, tune)
        test_out = harness.run_questions(workspace, topic_of, test)
        started = time.perf_counter()
        extra = harness.generate_filler(actor, max(0, args.articles - len(topic_of)), seed=args.seed)
        result["filler_articles"] = extra
        result["filler_seconds"] = round(time.perf_counter() - started, 1)
        big_tune = harness.run_questions(workspace, topic_of, tune)
        big_test = harness.run_questions(workspace, topic_of, test)
        threshold = harness.choose_threshold(tune_out, big_tune)
        sizes = {"small": len(topic_of), "large": len(topic_of) + extra}
        for name, tune_o, test_o in (("small", tune_out, test_out), ("large", big_tune, big_test)):
            sweep_tune = [harness.score(tune_o, t) for t in harness.SWEEP[::5]]
            sweep_test = [harness.score(test_o, t) for t in harness.SWEEP[::5]]
            result[name] = {
                "articles": sizes[name],
                "sweep_tune": sweep_tune,
                "sweep_test": sweep_test,
                "tune_at_threshold": harness.score(tune_o, threshold),
                "test_at_threshold": harness.score(test_o, threshold),
            }
            print(
                f"\n=== Knowledge base of {sizes[name]} articles; questions: {len(tune)} tuning, "
                f"{len(test)} test ==="
            )
            print("\nSweep on the TUNING half:\n" + table(sweep_tune))
            print("\nSweep on the TEST half (for the record, not used to choose):\n" + table(sweep_test))
        result["chosen_threshold"] = threshold
        print(
            f"\nChosen threshold (lowest with wrong < {harness.TUNE_WRONG:.0%} on the tuning half, both "
            f"knowledge-base sizes): {threshold:.2f}"
        )
        for name in ("small", "large"):
            print(
                f"\nAt {threshold:.2f}, {sizes[name]} articles — tuning half, then TEST half "
                "(never tuned on):\n"
                + table([result[name]["tune_at_threshold"], result[name]["test_at_threshold"]])
            )

        from django.test.utils import override_settings

        with override_settings(BOT_ANSWER_THRESHOLD=threshold):
            ask_ms, search_ms = [], []
            for _lang, _expected, question in tune + test:
                t0 = time.perf_counter()
                services.ask(workspace, question)
                ask_ms.append((time.perf_counter() - t0) * 1000)
            search_ms = [o.ms for o in big_tune + big_test]
    load = os.getloadavg()
    result["latency_ms"] = {
        "ask_p50": round(percentile(ask_ms, 50), 1),
        "ask_p95": round(percentile(ask_ms, 95), 1),
        "ask_max": round(max(ask_ms), 1),
        "search_p50": round(percentile(search_ms, 50), 1),
        "search_p95": round(percentile(search_ms, 95), 1),
        "n": len(ask_ms),
    }
    result["load_average_end"] = load
    lat = result["latency_ms"]
    print(
        f"\nLatency with {len(topic_of) + extra} articles ({connection.vendor}), {lat['n']} questions: "
        f"ask p50 {lat['ask_p50']} ms, p95 {lat['ask_p95']} ms (max {lat['ask_max']}); "
        f"search alone p50 {lat['search_p50']} ms, p95 {lat['search_p95']} ms "
        f"(target p95 ≤ {LATENCY_TARGET_MS:.0f} ms)"
    )
    print(
        f"Load average (1/5/15 min) at start {tuple(round(x, 2) for x in result['load_average'])}, "
        f"at end {tuple(round(x, 2) for x in load)} on {os.cpu_count()} cores"
    )
    out = ROOT / "benchmarks" / "results" / f"bot-{connection.vendor}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(f"\nWritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
