"""Imported once in the batch's fork server, which forks the render workers: ReportLab, handout and its fonts loaded there, once, for all of them.

A worker forked from the server starts with all this in memory (shared with its
siblings until written to) instead of importing and reading it itself, so its
first plan comes as soon as a plain process pool's does, and the workers together
hold less memory. Only what does not depend on the run is done here (the server
outlives a batch in `handout serve`): the brand, templates and paper are each
worker's own, in batch._prepare_worker.
"""

from __future__ import annotations

import datetime as dt
import gc

from handout.api import render_plan
from handout.i18n import available_languages
from handout.pipeline import article_for
from handout.render.fonts import GENERAL, register_face, register_fonts

register_fonts()
register_face(GENERAL)  # Greek, Cyrillic and Latin letters Atkinson lacks: any list of names soon needs it
for _language in available_languages():
    article_for(_language)
# One plan drawn end to end: every module a plan loads on first use is loaded, and every per-process
# cache (paragraph styles, compiled parts of the plan's template) is made once, here, for all workers.
# Caches are keyed on the brand, paper and templates, so a run with another brand only misses them.
try:
    render_plan(patient="Preload", start_date=dt.date(2000, 1, 3), issued=dt.date(2000, 1, 1), weeks=1)
except Exception:  # a plan that cannot be made fails in the worker, with its own message; the server must start
    pass

# What is loaded now stays shared with the workers only while nobody writes to its pages. The garbage
# collector would write to every object's header as it scans (copying each page into each worker):
# everything made so far is set aside from its scans, as it lives as long as the server anyway.
gc.freeze()
