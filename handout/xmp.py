"""The XMP metadata packet a PDF/UA file carries: its title, language, dates and the PDF/UA part."""

from __future__ import annotations

import datetime as dt

from handout.xml_text import escape


def xmp_packet(title: str, lang: str, created: dt.datetime | None) -> str:
    """The XMP metadata packet PDF/UA asks for: the title, the language and the PDF/UA part."""
    dates = ""
    if created is not None:  # a merged to-print file has no date of its own
        stamp = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        dates = f"<xmp:CreateDate>{stamp}</xmp:CreateDate>\n<xmp:ModifyDate>{stamp}</xmp:ModifyDate>\n"
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
<dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>
{dates}<pdfuaid:part>1</pdfuaid:part>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
