"""Renderers over the same grade data: each format is one module with a `render` function."""

import functools
import re


def report_file(student: str) -> str:
    """A student's HTML report, relative to a batch's output folder."""
    return f"reports/{re.sub(r'[^A-Za-z0-9_.-]', '_', student)}.html"


@functools.cache
def templates():
    """The jinja2 environment of the templates shipped in the package (the HTML report, the class
    overview) with the filters they use; jinja2 is imported only by the renderers that need it."""
    import jinja2
    from markupsafe import Markup, escape

    env = jinja2.Environment(loader=jinja2.PackageLoader("grader.report", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda v, fmt="{:,}": "" if v is None else fmt.format(v)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.2f}"
    env.filters["count"] = lambda v: "–" if v is None else f"{v:,}"
    env.filters["g"] = lambda v: "–" if v is None else f"{v:g}"
    # Escape, then show `backticked` words as code.
    env.filters["ticks"] = lambda text: Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(text))))
    return env
