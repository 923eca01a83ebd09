"""The scan judges a pair of signatures once and gives the verdict to their records: it must find
exactly the pairs, scores, fields and rules of judging every pair of records on its own."""

import random
from collections import defaultdict

import pytest

from kehu.duplicates.matcher import Rule, blocking_keys, build_features
from kehu.duplicates.rules import DEFAULTS
from kehu.duplicates.scan import compare_blocks

SURNAMES = ["王", "李", "张", "刘", "陈"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊"]
WESTERN = ["John Smith", "Smith John", "Jon Smith", "J. Smith", "Mary Lee", "Lee Mary"]
COMPANIES = ["星辰科技有限公司", "星辰科技", "云帆贸易", "", ""]
CITIES = ["上海", "上海市", "Shanghai", "北京", ""]


def _records(rng: random.Random, n: int) -> dict:
    records = {}
    for pk in range(1, n + 1):
        if rng.random() < 0.7:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            if rng.random() < 0.3:
                from pypinyin import lazy_pinyin

                name = " ".join(lazy_pinyin(name))
        else:
            name = rng.choice(WESTERN)
        values = {
            "name": name,
            "company": rng.choice(COMPANIES),
            "city": rng.choice(CITIES),
            # small pools, so that some records share an email or a phone
            "email": rng.choice(["", "", f"p{rng.randint(1, 40)}@x.cn"]),
            "phone": rng.choice(["", "", f"+86139001{rng.randint(1, 40):05d}"]),
            "custom": {"tax": rng.choice(["", "", "T1", "T2"])},
        }
        f = build_features(values, region="CN", stored=True)
        f.id = pk
        records[pk] = f
    return records


def _rules(extra: bool) -> list[Rule]:
    rules = [
        Rule.from_dict({"name": str(n), "kind": k, "fields": f, "threshold": t})
        for n, k, f, t in DEFAULTS["customers.contact"]
    ]
    if extra:  # a fuzzy rule that weighs phones, and an exact rule on a phone or a custom field
        rules.append(
            Rule.from_dict(
                {
                    "name": "name and phone",
                    "kind": "fuzzy",
                    "threshold": 70,
                    "fields": [{"field": "name", "weight": 3, "min": 0.7}, {"field": "phone", "weight": 1}],
                }
            )
        )
        rules.append(
            Rule.from_dict(
                {
                    "name": "tax or phone",
                    "kind": "exact",
                    "fields": [{"field": "custom.tax"}, {"field": "phone"}],
                }
            )
        )
    return rules


@pytest.mark.parametrize("seed, extra", [(1, False), (2, True), (3, True)])
def test_grouped_comparison_finds_the_same_pairs(seed, extra):
    rng = random.Random(seed)
    records = _records(rng, 600)
    blocks = defaultdict(list)
    for pk, f in records.items():
        for key in blocking_keys(f):
            blocks[key].append(pk)
    rules = _rules(extra)
    skip = {pair for pair in ((1, 2), (3, 7), (10, 11)) if pair[0] in records}
    one_by_one, plain = compare_blocks(blocks, records, rules, cap=25, skip=skip, grouped=False)
    grouped, stats = compare_blocks(blocks, records, rules, cap=25, skip=skip, grouped=True)
    assert len(one_by_one) > 100  # the set has pairs of every kind to find
    found_by = {rule for _score, _fields, rule in one_by_one.values()}
    assert {rules[0].name, rules[1].name, rules[2].name} <= found_by  # email, phone and fuzzy pairs
    assert grouped == one_by_one
    assert not set(grouped) & skip
    assert stats["skipped_records"] == plain["skipped_records"]


def test_namesakes_are_judged_once():
    """20 王伟 at one company in one city, each with their own phone: one verdict, 190 pairs."""
    records = {}
    for pk in range(1, 21):
        records[pk] = build_features(
            {
                "name": "王伟" if pk % 2 else "Wang Wei",
                "company": "星辰科技",
                "city": "上海",
                "phone": f"139{pk:08d}",
            }
        )
        records[pk].id = pk
    rules = _rules(extra=False)
    grouped, stats = compare_blocks({"n:wan": list(records)}, records, rules)
    one_by_one, plain = compare_blocks({"n:wan": list(records)}, records, rules, grouped=False)
    assert len(grouped) == 190 and grouped == one_by_one
    assert stats["comparisons"] == 1 and plain["comparisons"] == stats["pairs_covered"] == 190
