"""Sentiment of survey comments: accuracy, macro-F1 and confusion matrix per language and split.

Scores the product's method (``kehu.surveys.sentiment.analyse``: character n-gram logistic
regression trained on the ``dev`` split) and, for comparison, the lexicon scorer
(``lexicon_label``). The labelled comments in ``kehu/surveys/sentiment_data/`` were written for this
project (not collected from customers); what each split is and how it was used:
``kehu/surveys/evaluation.py``. Figures on self-made text are optimistic.

    .venv/bin/python benchmarks/sentiment.py [--errors] [--cv] [--json benchmarks/results/sentiment.json]
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kehu.surveys import evaluation, sentiment  # noqa: E402 - needs no Django setup

SPLITS = ("dev", "heldout", "fresh")
LANGUAGES = ("zh", "en")
METHODS = {
    f"classifier {sentiment.VERSION} (stored)": sentiment.analyse,
    f"lexicon {sentiment.LEXICON_VERSION} (comparison)": sentiment.lexicon_label,
}


def confusion_table(confusion: dict) -> str:
    lines = ["gold \\ predicted".ljust(18) + "".join(label.rjust(10) for label in evaluation.LABELS)]
    for gold in evaluation.LABELS:
        lines.append(gold.ljust(18) + "".join(str(confusion[gold][p]).rjust(10) for p in evaluation.LABELS))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", action="store_true", help="list the misclassified comments")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--cv", action="store_true", help="also: the classifier's 5-fold cross-validated macro-F1 on dev"
    )
    args = parser.parse_args()
    results: dict = {}
    for name, method in METHODS.items():
        results[name] = {}
        for split in SPLITS:
            for language in LANGUAGES:
                report = evaluation.evaluate(evaluation.load(split, language), method)
                results[name][f"{split}/{language}"] = {
                    "n": report.n,
                    "accuracy": round(report.accuracy, 3),
                    "macro_f1": round(report.macro_f1, 3),
                    "confusion": report.confusion,
                }
                note = " (training data)" if split == "dev" and method is sentiment.analyse else ""
                print(
                    f"\n== {name} · {split}{note} · {language} · n={report.n} · "
                    f"accuracy {report.accuracy:.1%} · macro-F1 {report.macro_f1:.3f}"
                )
                print(confusion_table(report.confusion))
                if args.errors:
                    for gold, guess, text in report.errors:
                        print(f"   {gold:>8} → {guess:<8} {text}")
    if args.cv:
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        rows = evaluation.load("dev", "zh") + evaluation.load("dev", "en")
        folds = cross_val_score(
            sentiment.pipeline(),
            [text for _label, text in rows],
            [label for label, _text in rows],
            cv=StratifiedKFold(5, shuffle=True, random_state=0),
            scoring="f1_macro",
        )
        results["classifier_dev_5fold_macro_f1"] = round(float(folds.mean()), 3)
        mean = folds.mean()
        print(f"\n== classifier {sentiment.VERSION} · dev (zh + en) · 5-fold CV · macro-F1 {mean:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
