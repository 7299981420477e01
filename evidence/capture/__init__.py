"""Capture by link (issue 20, begun): a web page preserved as it was. The safe fetch of
one URL and its WARC records (``fetching``); a capture as background work, kept as a
``web_capture`` item with what it saw (``capturing``). Services; imports no face."""
