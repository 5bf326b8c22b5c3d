"""Imported once in the batch's fork server, which forks the render workers: ReportLab, handout and its fonts loaded there, once, for all of them.

A worker forked from the server starts with all this in memory (shared with its
siblings until written to) instead of importing and reading it itself, so its
first plan comes as soon as a plain process pool's does, and the workers together
hold less memory. Only what does not depend on the run is done here (the server
outlives a batch in `handout serve`): the brand, templates and paper are each
worker's own, in batch_worker.prepare_worker.
"""

from __future__ import annotations

import datetime as dt
import gc

# Everything made from here lives as long as the server and is frozen at the end: collections while
# loading could free nothing, and cost about a fifth of the loading the first plan waits for.
_collecting = gc.isenabled()
gc.disable()
from handout.dataclass_code import keep_dataclass_code  # noqa: E402
from handout.lazy_patterns import defer_reportlab_patterns  # noqa: E402

keep_dataclass_code()  # the data classes' methods compiled once, as the command's own start does (__main__)
# ReportLab's seldom-used patterns compiled on first use, as __main__ has them (a batch's server, forked from the
# command, has them so already): compiled at import, they were 30-45 ms of the loading every first plan waits for.
defer_reportlab_patterns()
import handout.plan_merging  # noqa: E402, F401  (each plan to print is read for the merge where it is made)
from handout.batch_worker import worker_renderer  # noqa: E402  (imported with the collector off and the kept code in place)
from handout.brand import load_brand  # noqa: E402
from handout.i18n import available_languages  # noqa: E402
from handout.pipeline import Patient, article_for  # noqa: E402
from handout.plan import PlanRequest, build_plan  # noqa: E402
from handout.render.fonts import GENERAL, register_face, register_fonts  # noqa: E402

register_fonts()
register_face(GENERAL)  # Greek, Cyrillic and Latin letters Atkinson lacks: any list of names soon needs it
for _language in available_languages():
    article_for(_language)
# One plan drawn end to end, as a worker draws it: every module a plan loads on first use is loaded,
# and every per-process cache (styles, compiled templates, the QR code) is made once, here, for all
# workers. Made for the example brand on A4: a run with those uses this very renderer; any other
# brand, paper or templates gets its own renderer (the caches are keyed on them) and only misses them.
try:
    _issued = dt.date(2000, 1, 1)
    worker_renderer(load_brand(None), "a4", (), False).plan(Patient("Preload"), build_plan(PlanRequest(start_date=dt.date(2000, 1, 3), weeks=1)), article_for("en"), _issued)
except Exception:  # a plan that cannot be made fails in the worker, with its own message; the server must start
    pass

# What is loaded now stays shared with the workers only while nobody writes to its pages. The garbage
# collector would write to every object's header as it scans (copying each page into each worker):
# everything made so far is set aside from its scans, as it lives as long as the server anyway.
gc.freeze()
if _collecting:
    gc.enable()  # the workers collect what they make, as before
