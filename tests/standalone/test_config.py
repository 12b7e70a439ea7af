import pytest

from standalone.config import Config, ConfigError, load_config


def test_defaults_are_the_embedded_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config == Config()
    assert config.database.url == "surrealkv://data/db"
    assert config.storage.url == "file://data/objects"
    assert config.coordination.url == "memory://"


def test_a_versioned_database_is_accepted(tmp_path):
    # It lets a backup read the whole database as of one moment.
    environ = {"TICKETS__DATABASE__URL": "surrealkv+versioned://data/db"}
    assert load_config(environ=environ).database.url == "surrealkv+versioned://data/db"


def test_file_then_environment(tmp_path):
    path = tmp_path / "tickets.toml"
    path.write_text('[discord]\napi_base = "http://127.0.0.1:9/api/v10"\n[worker]\nbatch = 4\n')
    config = load_config(path, environ={"TICKETS__WORKER__BATCH": "8", "DISCORD_TOKEN": "t"})
    assert config.discord.api_base == "http://127.0.0.1:9/api/v10"
    assert config.worker.batch == 8
    assert config.discord.token == "t"


def test_environment_token_wins_over_the_file(tmp_path):
    path = tmp_path / "tickets.toml"
    path.write_text('[discord]\ntoken = "from-file"\n')
    assert load_config(path, environ={}).discord.token == "from-file"
    assert load_config(path, environ={"DISCORD_TOKEN": "env"}).discord.token == "env"
    both = {"DISCORD_TOKEN": "env", "TICKETS__DISCORD__TOKEN": "prefixed"}
    assert load_config(path, environ=both).discord.token == "prefixed"


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"TICKETS__DATABASE__URL": "postgres://x"}, "database.url"),
        ({"TICKETS__DATABASE__URL": "surrealkv://"}, "database.url"),
        ({"TICKETS__DATABASE__URL": "surrealkv+versioned://"}, "database.url"),
        ({"TICKETS__STORAGE__URL": "file://"}, "storage.url"),
        ({"TICKETS__STORAGE__URL": "s4://bucket"}, "storage.url"),
        ({"TICKETS__STORAGE__URL": "s3://Bucket_1"}, "storage.url"),
        ({"TICKETS__STORAGE__URL": "s3://bucket?endpoint=minio:9000"}, "storage.url"),
        ({"TICKETS__STORAGE__ACCESS_KEY_ID": "id"}, "storage.access_key_id"),
        ({"TICKETS__COORDINATION__URL": "memory://?max_entries=x"}, "coordination.url"),
        ({"TICKETS__COORDINATION__URL": "redis://localhost/db"}, "coordination.url"),
        ({"TICKETS__COORDINATION__URL": "redis://"}, "coordination.url"),
        ({"TICKETS__COORDINATION__URL": "unix://"}, "coordination.url"),
        ({"TICKETS__COORDINATION__URL": "mongodb://x"}, "coordination.url"),
        ({"TICKETS__COORDINATION__FSYNC": "sometimes"}, "coordination.fsync"),
        ({"TICKETS__COORDINATION__SERVE": "true"}, "coordination.serve"),
        (
            {"TICKETS__COORDINATION__URL": "redis://h", "TICKETS__COORDINATION__AOF_PATH": "a"},
            "coordination.aof_path",
        ),
        ({"TICKETS__WORKER__BATCH": "many"}, "worker.batch"),
        ({"TICKETS__WORKER__BATCH": "0"}, "worker.batch"),
        ({"TICKETS__DISCORD__GATEWAY_URL": "http://x"}, "discord.gateway_url"),
        ({"TICKETS__GATEWAY__SHARD_COUNT": "-1"}, "gateway.shard_count"),
        ({"TICKETS__GATEWAY__LEASE_TTL_MS": "0"}, "gateway.lease_ttl_ms"),
        ({"TICKETS__GATEWAY__LEASE_TTL_MS": "100"}, "gateway.lease_ttl_ms"),
        ({"TICKETS__GATEWAY__ACQUIRE_INTERVAL_MS": "0"}, "gateway.acquire_interval_ms"),
        ({"TICKETS__LOGGING__LEVEL": "LOUD"}, "logging.level"),
        ({"TICKETS__DATABASE__PASSWROD": "x"}, "database.passwrod"),
        ({"TICKETS__NOPE__X": "1"}, "nope"),
        ({"TICKETS__WORKER": "1"}, "TICKETS__WORKER"),
    ],
)
def test_invalid_values_name_the_key(environ, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_config(environ=environ)
    assert str(error.value).startswith(key)


@pytest.mark.parametrize(
    "environ",
    [
        {"TICKETS__COORDINATION__URL": "unix:///run/tickets/coord.sock"},
        {
            "TICKETS__COORDINATION__URL": "unix://data/coord.sock",
            "TICKETS__COORDINATION__SERVE": "1",
        },
        {"TICKETS__COORDINATION__URL": "redis://127.0.0.1:6379/15"},
        {"TICKETS__COORDINATION__URL": "valkey://cache.internal"},
        {"TICKETS__COORDINATION__URL": "redis+unix:///run/redis.sock?db=2"},
        {"TICKETS__COORDINATION__AOF_PATH": "data/coord.aof", "TICKETS__COORDINATION__FSYNC": "no"},
    ],
)
def test_coordination_urls_and_durability_options(environ, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ=environ)
    expected = {k.removeprefix("TICKETS__COORDINATION__").lower(): v for k, v in environ.items()}
    assert config.coordination.url == expected.get("url", "memory://")
    assert config.coordination.serve is ("serve" in expected)
    assert config.coordination.fsync == expected.get("fsync", "everysec")


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "tickets.toml"
    path.write_text("[discord\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})


def test_s3_storage_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(
        environ={
            "TICKETS__STORAGE__URL": "s3://tickets/prod?endpoint=http://minio:9000&path_style=1",
            "TICKETS__STORAGE__ACCESS_KEY_ID": "id",
            "TICKETS__STORAGE__SECRET_ACCESS_KEY": "secret",
        }
    )
    assert config.storage.url.startswith("s3://tickets/prod")
    assert (config.storage.access_key_id, config.storage.secret_access_key) == ("id", "secret")


def test_gateway_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(
        environ={"TICKETS__GATEWAY__SHARD_COUNT": "4", "TICKETS__GATEWAY__LEASE_TTL_MS": "2000"}
    )
    assert (config.gateway.shard_count, config.gateway.lease_ttl_ms) == (4, 2000)
    assert load_config(environ={}).gateway.shard_count == 0  # Discord's number


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    """Found by tests/standalone/test_fuzz_config.py: a traceback before."""
    path = tmp_path / "tickets.toml"
    path.write_bytes(b'[discord]\ntoken = "\x80"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path, environ={})


def test_a_folder_given_as_the_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path, environ={})
