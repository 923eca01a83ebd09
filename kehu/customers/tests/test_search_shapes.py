"""Search answers the same rows on SQLite and PostgreSQL (run with ``scripts/run-tests pg`` too).

PostgreSQL narrows through trigram and bigram indexes; SQLite scans. The expected sets below are
exact, so an index path that loses rows (like SQLite FTS5's trigram tokenizer with 2-character
queries) fails here on the database that has it.
"""

import pytest

from kehu.customers import services
from kehu.customers.queries import accounts_for, contacts_for

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("王伟", "", "138 0013 8000", "wang.wei@example.cn"),
    ("王伟华", "", "139 1234 5678", "wwh@example.cn"),
    ("汪伟", "", "", ""),  # same pinyin as 王伟, other characters
    ("李娜", "Lina Li", "+1 415 555 0101", "lina@example.com"),
    ("欧阳娜娜", "", "", "nana@example.com"),
    ("张伟", "", "010 6552 8888", ""),
    ("John Smith", "", "+1 415 555 0100", "john.smith@example.com"),
    ("Anna Smithson", "", "", "Anna@Example.com"),
    ("伟", "", "", ""),
]


@pytest.fixture
def people(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        return {
            name: services.create_contact(actor, name=name, name_en=name_en, phone=phone, email=email)
            for name, name_en, phone, email in PEOPLE
        }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("王伟", {"王伟", "王伟华"}),  # 2 characters: the bigram index on PostgreSQL
        ("王伟华", {"王伟华"}),  # 3 characters: trigram
        ("伟", {"王伟", "王伟华", "汪伟", "张伟", "伟"}),  # 1 character: a scan on both
        ("娜娜", {"欧阳娜娜"}),
        ("欧阳", {"欧阳娜娜"}),
        ("wangwei", {"王伟", "王伟华", "汪伟"}),  # pinyin
        ("Wang Wei", {"王伟", "王伟华", "汪伟"}),
        ("ww", {"王伟", "王伟华", "汪伟"}),  # initials
        ("smith", {"John Smith", "Anna Smithson"}),  # Latin name part, any case
        ("LINA", {"李娜"}),  # the Latin name
        ("138 0013 8000", {"王伟"}),  # a complete number in national format
        ("+8613800138000", {"王伟"}),
        ("1234 5678", {"王伟华"}),  # part of a number
        ("6552 8888", {"张伟"}),
        ("415 555", {"李娜", "John Smith"}),
        ("ANNA@example.COM", {"Anna Smithson"}),  # email, any case
        ("nobody@example.com", set()),
        ("zz", set()),
    ],
)
def test_search_finds_exactly_these_people(tenant, people, query, expected):
    with tenant.scope():
        found = {c.name for c in contacts_for(tenant.actors["owner"], query)}
    assert found == expected


def test_search_respects_record_access(tenant, people):
    sales = tenant.actors["sales"]
    with tenant.scope():
        mine = services.create_contact(sales, name="王伟")
        assert list(contacts_for(sales, "王伟")) == [mine]
        assert list(contacts_for(sales, "138 0013 8000")) == []


def test_account_search_by_two_characters_and_pinyin(tenant):
    actor = tenant.actors["owner"]
    with tenant.scope():
        tech = services.create_account(actor, name="上海明远科技有限公司")
        services.create_account(actor, name="北京恒信贸易有限公司")
        assert list(accounts_for(actor, "科技")) == [tech]
        assert list(accounts_for(actor, "mingyuan")) == [tech]
        assert list(accounts_for(actor, "shmy")) == [tech]
