"""Capture by link (issue 20): a web page or post preserved as it was. So far the safe
fetch of one URL and its WARC records (``fetching``). Services; imports no face."""
