"""tracker.project.env: good values are read, bad ones stop start-up naming the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tracker.project.env import env_bool, env_cache, env_int, env_list, env_str

# --- env_bool ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "Yes", "on", " on "])
def test_env_bool_reads_true_spellings(raw):
    assert env_bool("FLAG", False, environ={"FLAG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "NO", "off", " off\n"])
def test_env_bool_reads_false_spellings(raw):
    assert env_bool("FLAG", True, environ={"FLAG": raw}) is False


@pytest.mark.parametrize("environ", [{}, {"FLAG": ""}, {"FLAG": "   "}])
def test_env_bool_unset_or_blank_gives_default(environ):
    assert env_bool("FLAG", True, environ=environ) is True
    assert env_bool("FLAG", False, environ=environ) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "tru", "enabled"])
def test_env_bool_refuses_other_values_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_bool("DJANGO_DEBUG", True, environ={"DJANGO_DEBUG": raw})
    message = str(excinfo.value)
    assert "DJANGO_DEBUG" in message
    assert repr(raw) in message


def test_env_bool_reads_os_environ_when_no_mapping_given(monkeypatch):
    monkeypatch.setenv("TRACKER_TEST_FLAG", "off")
    assert env_bool("TRACKER_TEST_FLAG", True) is False


# --- env_int -------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), (" 7 ", 7), ("-3", -3)])
def test_env_int_reads_whole_numbers(raw, expected):
    assert env_int("N", 99, environ={"N": raw}) == expected


@pytest.mark.parametrize("environ", [{}, {"N": ""}, {"N": "  "}])
def test_env_int_unset_or_blank_gives_default(environ):
    assert env_int("N", 99, environ=environ) == 99


@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "4GB", "0x10"])
def test_env_int_refuses_non_integers_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("TRACKER_MAX_UPLOAD_BYTES", 1, environ={"TRACKER_MAX_UPLOAD_BYTES": raw})
    message = str(excinfo.value)
    assert "TRACKER_MAX_UPLOAD_BYTES" in message
    assert "whole number" in message


def test_env_int_minimum_is_inclusive():
    assert env_int("N", 5, minimum=1, environ={"N": "1"}) == 1


def test_env_int_refuses_value_below_minimum_naming_the_variable():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("DB_CONN_MAX_AGE", 0, minimum=0, environ={"DB_CONN_MAX_AGE": "-1"})
    message = str(excinfo.value)
    assert "DB_CONN_MAX_AGE" in message
    assert "at least 0" in message


# --- env_list ------------------------------------------------------------------------


def test_env_list_splits_on_commas_and_strips_items():
    environ = {"HOSTS": " tracker.example.org , 10.0.0.5,localhost "}
    assert env_list("HOSTS", [], environ=environ) == [
        "tracker.example.org",
        "10.0.0.5",
        "localhost",
    ]


def test_env_list_single_item():
    assert env_list("HOSTS", [], environ={"HOSTS": "example.org"}) == ["example.org"]


def test_env_list_unset_gives_a_copy_of_the_default():
    default = ["a", "b"]
    result = env_list("HOSTS", default, environ={})
    assert result == ["a", "b"]
    result.append("c")
    assert default == ["a", "b"], "the caller's default must not be shared"


@pytest.mark.parametrize("raw", ["a,,b", "a,", ",a", "a, ,b"])
def test_env_list_refuses_empty_items_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_list("DJANGO_ALLOWED_HOSTS", [], environ={"DJANGO_ALLOWED_HOSTS": raw})
    message = str(excinfo.value)
    assert "DJANGO_ALLOWED_HOSTS" in message
    assert "empty item" in message


# --- env_str -------------------------------------------------------------------------


def test_env_str_reads_and_strips_value():
    assert env_str("ZONE", "UTC", environ={"ZONE": "  Europe/Kyiv\n"}) == "Europe/Kyiv"


@pytest.mark.parametrize("environ", [{}, {"ZONE": ""}, {"ZONE": " \t"}])
def test_env_str_unset_or_blank_gives_default(environ):
    assert env_str("ZONE", "Asia/Damascus", environ=environ) == "Asia/Damascus"


def test_env_str_without_default_gives_empty_string():
    assert env_str("DJANGO_SECRET_KEY", environ={}) == ""


def test_env_str_keeps_inner_characters():
    secret = "a=b;c d#e,f"
    assert env_str("S", environ={"S": secret}) == secret


# --- env_cache -------------------------------------------------------------------------

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize("environ", [{}, {"CACHE": ""}, {"CACHE": "locmem://"}])
def test_env_cache_is_the_process_memory_by_default(environ):
    assert env_cache("CACHE", environ=environ) == {"BACKEND": LOCMEM}


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3", "rediss://:secret@cache:6380/0"])
def test_env_cache_reads_a_redis_url(url):
    assert env_cache("CACHE", environ={"CACHE": url}) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
    }


@pytest.mark.parametrize("url", ["memcached://x:11211", "127.0.0.1:6379", "file:///tmp/c"])
def test_env_cache_refuses_another_kind_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="TRACKER_CACHE_URL"):
        env_cache("TRACKER_CACHE_URL", environ={"TRACKER_CACHE_URL": url})


def test_env_cache_does_not_repeat_a_password_in_its_refusal():
    with pytest.raises(ImproperlyConfigured) as refused:
        env_cache("CACHE", environ={"CACHE": "memcached://user:hunter2@cache:11211"})
    assert "hunter2" not in str(refused.value)
