"""handout: clinic-branded patient leaflets and walking plans as print-ready PDFs."""

__version__ = "0.1.0"
