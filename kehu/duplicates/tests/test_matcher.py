"""The matcher alone: features, similarities, each rule kind, blocking."""

from kehu.duplicates.matcher import (
    Rule,
    apply_rule,
    blocking_keys,
    build_features,
    city_key,
    company_key,
    judge,
    name_tokens,
    similarity,
)
from kehu.duplicates.rules import DEFAULTS
from kehu.duplicates.scan import compare_blocks

PERSON = [
    Rule.from_dict({"name": str(n), "kind": k, "fields": f, "threshold": t})
    for n, k, f, t in DEFAULTS["customers.contact"]
]


def person(**values):
    return build_features(values, region="CN")


def test_names_are_pinyin_aware_and_swapped_names_match():
    assert name_tokens("王伟") == ("wang", "wei")
    assert name_tokens("Wáng  Wei") == ("wang", "wei")
    hanzi, latin, joined, swapped = (person(name=n) for n in ("王伟", "Wang Wei", "wangwei", "Wei Wang"))
    assert similarity("name", hanzi, latin) == 1.0
    assert similarity("name", hanzi, joined) == 1.0
    assert similarity("name", hanzi, swapped) == 1.0
    assert similarity("name", person(name="Wang W."), hanzi) == 0.9  # initials
    assert 0.85 < similarity("name", person(name="Jonathan Smith"), person(name="Jonathon Smith")) < 1
    assert similarity("name", person(name="张伟"), person(name="李娜")) < 0.5


def test_company_and_city_normalisation():
    assert company_key("北京星辰科技有限公司") == "北京星辰科技"
    assert company_key("Northwind Trading Co., Ltd.") == "northwindtrading"
    assert city_key("上海市") == city_key("上海") == city_key("Shanghai") == "shanghai"
    a, b = person(company="星辰科技"), person(company="北京星辰科技有限公司")
    assert similarity("company", a, b) == 0.9  # one inside the other
    assert similarity("company", person(company="星辰科技"), person(company="Xingchen Keji")) == 1.0


def test_exact_rules_on_email_phone_and_custom_key():
    email = Rule("Same email", "exact", (("email", 1, 0, False),))
    phone = Rule("Same phone", "exact", (("phone", 1, 0, False),))
    tax = Rule("Same tax number", "exact", (("custom.tax_no", 1, 0, False),), action="block")
    a = person(name="A", email="Li.Na@Example.com", phone="139 0013 9000", custom={"tax_no": "91 3101 X"})
    b = person(
        name="B",
        emails=[{"value": "li.na@example.com"}],
        phone="+86 13900139000",
        custom={"tax_no": "91 3101 x"},
    )
    assert apply_rule(email, a, b).matched_fields == ("email",)
    assert apply_rule(phone, a, b).score == 100
    verdict = apply_rule(tax, a, b)
    assert verdict.action == "block" and verdict.matched_fields == ("custom.tax_no",)
    assert apply_rule(email, a, person(name="A", email="other@example.com")) is None
    assert apply_rule(email, a, person(name="A")) is None  # missing is no match


def test_fuzzy_rule_weights_threshold_and_missing_fields():
    fuzzy = PERSON[2]
    same = person(name="王伟", company="星辰科技", city="上海")
    assert (
        apply_rule(fuzzy, same, person(name="Wang Wei", company="星辰科技有限公司", city="Shanghai")).score
        >= 95
    )
    # name alone (company and city unknown) is not enough: two people share common names
    assert apply_rule(fuzzy, person(name="王伟"), person(name="Wang Wei")) is None
    # the same name at another company in another city is another person
    assert apply_rule(fuzzy, same, person(name="王伟", company="Northwind", city="北京")) is None
    # a required name that is too different never fires, whatever else matches
    assert apply_rule(fuzzy, same, person(name="李娜", company="星辰科技", city="上海")) is None
    verdict = judge(PERSON, same, person(name="王伟", company="星辰科技", city="上海", phone="13900139000"))
    assert verdict.score == 100 and set(verdict.matched_fields) == {"name", "company", "city"}


def test_blocking_keys_and_no_comparison_across_blocks():
    a = person(name="王伟", email="ww@x.cn", city="上海")
    keys = blocking_keys(a)
    assert {"e:ww@x.cn", "n:wan", "n:wei", "i:ww|shanghai"} <= keys
    assert "l:ww@x.cn" not in keys  # a local part under 3 letters is no key
    records = {
        1: person(name="王伟", company="星辰", city="上海"),
        2: person(name="Wang Wei", company="星辰", city="Shanghai"),
        3: person(name="王伟", company="星辰", city="上海"),
    }
    for pk, f in records.items():
        f.id = pk
    # 3 is in a block of its own: never compared with 1 or 2, though it is the same person
    for grouped in (True, False):
        found, stats = compare_blocks({"x": [1, 2], "y": [3]}, records, PERSON, grouped=grouped)
        assert list(found) == [(1, 2)]
        assert stats["comparisons"] == stats["pairs_covered"] == 1


def test_giant_blocks_are_split_then_skipped():
    records = {}
    for pk in range(1, 81):
        records[pk] = person(name="王伟" if pk <= 40 else f"Wang Xiao{pk}", city="上海" if pk % 2 else "北京")
        records[pk].id = pk
    _found, stats = compare_blocks({"n:wan": list(records)}, records, PERSON, cap=10)
    assert stats["split_blocks"] == 1
    # 40 王伟 (wangwei, wang|w …: one group), and 40 "Wang Xiao<n>" sharing the initials key
    # wang|x, each split by city into two groups of 20, still above the cap: skipped and reported
    assert stats["skipped_blocks"] == 4 and stats["skipped_records"] == 80
    assert stats["skipped_keys"] == ["n:wan"]


def test_skipped_records_are_those_never_compared():
    """Records whose every group was over the cap, not memberships of skipped groups."""
    records = {}
    for pk in range(1, 31):  # 30 namesakes in one city: over the cap at every level
        records[pk] = person(name="王伟", city="上海", phone=f"1390013{pk:04d}")
    records[31] = person(name="王伟", city="上海", phone="13900130001")  # shares 1's phone
    for pk, f in records.items():
        f.id = pk
    blocks = {"n:wan": list(range(1, 32)), "p:+8613900130001": [1, 31]}
    found, stats = compare_blocks(blocks, records, PERSON, cap=10)
    assert stats["skipped_blocks"] == 1 and list(found) == [(1, 31)]
    # 1 and 31 met in the phone block; the other 29 were compared with nobody
    assert stats["skipped_records"] == 29


def test_stored_pinyin_gives_the_same_tokens():
    from kehu.customers.normalize import pinyin_keys
    from kehu.duplicates.matcher import stored_name_tokens

    for name in ("王伟", "曾伟", "单雄信", "欧阳娜娜", "吕思雨", "乐乐", "张宇雨"):
        assert stored_name_tokens(name, pinyin_keys(name)[0]) == name_tokens(name)
    assert stored_name_tokens("王芳", "wangwei") is None  # stale pinyin: converted again
    assert stored_name_tokens("Wang 伟", "wangwei") is None  # not Chinese characters only
    assert stored_name_tokens("王伟", "") is None
    f = build_features({"name": "王芳", "name_pinyin": "wangwei"}, stored=True)
    assert f.names == [("wang", "fang")]
