# Setup, not a workload: writes SIZE_MIB to PATH, then syncs and drops its cache, so the job that reads it is charged for every page.
import os, sys

path, size_mib = sys.argv[1], int(sys.argv[2])
chunk = b"\x5a" * (1 << 20)
with open(path, "wb") as f:
    for _ in range(size_mib):
        f.write(chunk)
    f.flush()
    os.fsync(f.fileno())
    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
