"""The SAMPLE demo case: an illustrative investigation for trying the tracker.

Every record it creates is labelled SAMPLE (places are real towns and carry no
label). ``data`` holds the case as plain structures, ``files`` generates the
evidence files deterministically, ``build`` turns both into records; the
management commands ``load_demo`` and ``demo_logins`` call :func:`load` and
:func:`read_logins`.
"""

from demo.build import DemoError, LoadResult, is_loaded, load, logins_path, read_logins

__all__ = ["DemoError", "LoadResult", "is_loaded", "load", "logins_path", "read_logins"]
