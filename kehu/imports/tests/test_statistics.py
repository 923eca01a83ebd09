"""The planner statistics an import refreshes (``Target.statistics``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.customers.bulk import refresh_statistics
from kehu.customers.models import Account, Contact, ContactPoint
from kehu.imports.services import _statistics_target
from kehu.imports.targets import get_target


def test_contacts_refresh_the_tables_their_duplicate_check_reads():
    targets = [_statistics_target(label) for label in get_target("contacts").statistics]
    assert targets[0] is ContactPoint
    assert targets[1] == (Contact, ("workspace", "email", "phone", "name_pinyin", "account"))
    assert targets[2][0] is Account and "name_pinyin" in targets[2][1]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE is PostgreSQL's")
def test_named_columns_are_analyzed_alone():
    with CaptureQueriesContext(connection) as captured:
        refresh_statistics(ContactPoint, (Contact, ("workspace", "phone", "account")))
    statements = [q["sql"] for q in captured.captured_queries]
    assert statements == [
        'ANALYZE "customers_contactpoint"',
        'ANALYZE "customers_contact" ("workspace_id", "phone", "account_id")',
    ]
