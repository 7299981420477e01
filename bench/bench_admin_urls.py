"""URLs for the admin benchmark: the project's URLs plus the naive admin baseline."""

from django.urls import path

from bench.bench_admin import naive_site
from tracker.project.urls import urlpatterns as project_urls

urlpatterns = [path("naive/", naive_site.urls), *project_urls]
