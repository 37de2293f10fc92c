# Writes a file larger than the limit with no fsync: dirty cache piles up at the limit waiting for the disk, so dirty-page-cache.
import sys

path, size_mib = sys.argv[1], int(sys.argv[2])
chunk = b"\x5a" * (1 << 20)
with open(path, "wb") as f:
    for _ in range(size_mib):
        f.write(chunk)
