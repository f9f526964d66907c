import pytest

from tests.api.newsroom import Newsroom, build_newsroom


@pytest.fixture
def newsroom(db) -> Newsroom:
    return build_newsroom()
