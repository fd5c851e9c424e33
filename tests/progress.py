"""A progress bar for long runs (``make soak``, ``make bench``): drawn on a terminal, silent elsewhere."""
import sys
import time


class Progress:
    """``update(done, note)`` redraws ``[#####.....] done/total note`` on ``stream`` at most every 0.2 s,
    and only where ``stream`` is a terminal; ``close()`` ends the line."""

    def __init__(self, total, label="", stream=None, width=30):
        self.total, self.label, self.width = total, label, width
        self.stream = stream if stream is not None else sys.stderr
        self.on = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0

    def update(self, done, note=""):
        now = time.monotonic()
        if not self.on or (now - self._last < 0.2 and done < self.total):
            return
        self._last = now
        filled = int(self.width * done / max(self.total, 1))
        self.stream.write("\r%s[%s%s] %d/%d %s\x1b[K" % (self.label, "#" * filled, "." * (self.width - filled),
                                                        done, self.total, note))
        self.stream.flush()

    def close(self):
        if self.on:
            self.stream.write("\n")
            self.stream.flush()
