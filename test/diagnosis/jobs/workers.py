# Forks COUNT workers that each hold SIZE_MIB at once, past the limit together: no process holds most of it, so workers.
import os, sys, time

count, size_mib = int(sys.argv[1]), int(sys.argv[2])
# The workers allocate together once all are forked, as a pool's do when work arrives: forked one by one
# on a busy machine, their allocations would spread over seconds and read as one steady growth.
start_read, start_write = os.pipe()
pids = []
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        os.close(start_write)
        os.read(start_read, 1)
        block = b"\x01" * (size_mib << 20)
        time.sleep(3)
        os._exit(0)
    pids.append(pid)
os.close(start_write)
failed = 0
for pid in pids:
    _, status = os.waitpid(pid, 0)
    failed += status != 0
sys.exit(1 if failed else 0)
