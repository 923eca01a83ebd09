import pytest

from kehu.scoring import services


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """Test databases reuse ids: each test starts with an empty per-process model cache."""
    services._CONFIG.clear()
    yield
    services._CONFIG.clear()
