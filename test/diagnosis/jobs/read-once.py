# Reads a file somewhat smaller than the limit once: clean page cache brings usage near the limit but never to it, so healthy.
import sys

with open(sys.argv[1], "rb") as f:
    while f.read(1 << 20):
        pass
