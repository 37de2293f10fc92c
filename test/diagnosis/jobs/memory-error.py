# Grows in 16 MiB chunks until the guard's RLIMIT_DATA raises MemoryError, before the cgroup's limit: anon growth, caught, so anon-growth.
import time

held = []
while True:
    held.append(b"\x01" * (16 << 20))
    time.sleep(0.02)
