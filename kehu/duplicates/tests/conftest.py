"""Fixtures of the duplicate tests."""

import pytest

from kehu.customers import services as customers


@pytest.fixture
def wang(tenant):
    with tenant.scope():
        account = customers.create_account(tenant.actors["admin"], name="上海星辰科技有限公司", city="上海")
        return customers.create_contact(
            tenant.actors["admin"],
            name="王伟",
            account_id=account.pk,
            email="wang.wei@xingchen.cn",
            phone="13900139000",
            addresses=[{"city": "上海", "is_primary": True}],
        )
