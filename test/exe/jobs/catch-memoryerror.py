# Allocates 16 MiB chunks until an allocation fails, and handles the MemoryError as a job that can shed
# its work would: under the guard's RLIMIT_DATA that comes before the cgroup limit and its OOM kill.
held = []
try:
    while True:
        held.append(b"\x01" * (16 << 20))
except MemoryError:
    count = len(held)
    held.clear()
    print("caught MemoryError after %d MiB" % (count * 16))
