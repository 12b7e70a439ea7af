import pytest
from cryptography.fernet import Fernet

from standalone.crypto import Cipher
from standalone.db.tenants import TenantError, TenantRepository


@pytest.fixture
def repo(db):
    return TenantRepository(db, Cipher(Fernet.generate_key()))


async def test_token_is_stored_encrypted(repo):
    tenant = await repo.add("main", "abc.def.ghi", "123")
    assert "abc" not in tenant.token
    assert repo.token(tenant) == "abc.def.ghi"
    assert [t.name for t in await repo.list()] == ["main"]


@pytest.mark.parametrize(
    ("name", "token", "app"),
    [("Bad Name", "t", "1"), ("../x", "t", "1"), ("ok", " ", "1"), ("ok", "t", "12a")],
)
async def test_bad_input_is_refused_and_nothing_is_written(repo, name, token, app):
    with pytest.raises(TenantError):
        await repo.add(name, token, app)
    assert await repo.list() == []


async def test_duplicate_and_remove(repo):
    await repo.add("main", "t", "1")
    with pytest.raises(TenantError, match="already exists"):
        await repo.add("main", "t2", "2")
    assert await repo.remove("main") is True
    assert await repo.remove("main") is False
