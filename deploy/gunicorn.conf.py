"""Gunicorn settings for the tracker: ``gunicorn -c deploy/gunicorn.conf.py``.

Read from the environment like the rest of the tracker (GUNICORN_* variables,
listed in .env.example), through the same helpers that refuse a bad value at
start-up instead of running half-configured.

Why these choices:

- **gthread workers.** An evidence upload can be gigabytes. A sync worker sends
  no heartbeat while it handles a request, so the arbiter would kill it
  mid-upload after ``timeout`` seconds; and nginx passes uploads through
  unbuffered (see deploy/nginx/tracker.conf), so a slow field connection holds
  its worker for the whole transfer. A gthread worker keeps beating while its
  threads work, and a slow upload holds one thread, not a whole process.
- **Workers:** 2 x cores + 1, capped at 8: each worker holds its own Django,
  Pillow buffers while making derivatives, and one database connection per
  thread.
- **No query strings in the access log.** Admin searches put what a researcher
  looks for (a witness's or an official's name) into ``?q=``; a log file is
  kept longer and read by more people than the database. So the access log
  has the path only, no referrer (it carries the previous page's query), and
  is off unless GUNICORN_ACCESS_LOG is set: nginx already keeps one (path only
  too).
"""

import os

from tracker.project.env import env_int, env_str

wsgi_app = "tracker.project.wsgi:application"

# A unix socket in production (the systemd unit sets it), loopback TCP otherwise.
bind = [env_str("GUNICORN_BIND", "127.0.0.1:8001")]
# The socket is 0770: nginx reaches it through the tracker group, nobody else can.
umask = 0o007

MAX_DEFAULT_WORKERS = 8
CORES = len(os.sched_getaffinity(0))  # the CPUs this process may use, not the machine's
workers = env_int("GUNICORN_WORKERS", min(2 * CORES + 1, MAX_DEFAULT_WORKERS), minimum=1)
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4, minimum=1)

# With gthread this is a heartbeat: a worker whose main loop is stuck this long is
# restarted; a long request (an upload, a big export) is not cut short by it.
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=10)
# On reload or stop, requests in flight (an upload being hashed) get this long to
# finish; intake is atomic, so one cut short stores nothing.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 120, minimum=1)
keepalive = 5
# Restart a worker now and then: decoding large images leaves a fragmented heap.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 1000, minimum=0)
max_requests_jitter = max_requests // 10
# The heartbeat file is touched every second: keep it in memory, not on disk.
# gunicorn makes it with mkstemp and unlinks it at once, so a shared dir is safe.
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

# Only nginx's X-Forwarded-Proto decides HTTPS (Django trusts it only when
# DJANGO_SECURE_PROXY_SSL_HEADER is set); the other two default headers are
# dropped so that a client cannot send one that disagrees.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarded_allow_ips = "127.0.0.1,::1"

# systemd manages the process; the runtime control socket would be one more way in.
control_socket_disable = True

proc_name = "tracker"
errorlog = "-"
loglevel = env_str("GUNICORN_LOG_LEVEL", "info")
accesslog = env_str("GUNICORN_ACCESS_LOG", "") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
