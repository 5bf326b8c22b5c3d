"""The machine-readable diary: its page code and geometry (shared with the drawing), and the reader of scanned diaries."""
