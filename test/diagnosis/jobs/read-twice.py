# Reads a file larger than the limit twice: only clean page cache fills the cgroup and the kernel drops it at the limit, so page-cache.
import sys

for _ in range(2):
    with open(sys.argv[1], "rb") as f:
        while f.read(1 << 20):
            pass
