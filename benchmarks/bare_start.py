"""The start-up floor: a bare ReportLab script that writes two pages of text in an embedded TrueType font, as `handout leaflet` does.

`python benchmarks/bare_start.py out.pdf REGULAR.ttf BOLD.ttf`; benchmarks/compare.py finds the two font files
once, before timing, and times this as a whole process against `handout leaflet`. The paths come in on the
command line because looking them up (fontpkg scans the installed packages, about 35 ms) is work handout now
skips with its own kept paths: a floor that paid it would flatter handout.
"""

import sys

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

pdfmetrics.registerFont(TTFont("Regular", sys.argv[2]))
pdfmetrics.registerFont(TTFont("Bold", sys.argv[3]))
canvas = Canvas(sys.argv[1], invariant=1, pageCompression=1, initialFontName="Regular")
for page in (1, 2):
    canvas.setFont("Bold", 26)
    canvas.drawString(42.5, 780, "Is Walking The Best Exercise For Lower Back Pain?" if page == 1 else "When Walking May Not Be Enough")
    text = canvas.beginText(42.5, 740)
    text.setFont("Regular", 14)
    for line in range(30):
        text.textLine(f"Walking is gentle, low-impact exercise that most people can do every day. Line {line + 1}.")
    canvas.drawText(text)
    canvas.showPage()
canvas.save()
