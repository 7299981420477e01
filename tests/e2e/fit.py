"""Whether a page fits its window (the team works at 1366 px): shared by the browser tests."""


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
