# Writes a file on /dev/shm past the limit: tmpfs pages are shmem that cannot be dropped without swap, so tmpfs.
import sys

path, size_mib = sys.argv[1], int(sys.argv[2])
chunk = b"\x5a" * (1 << 20)
with open(path, "wb") as f:
    for _ in range(size_mib):
        f.write(chunk)
