# Fills pipes with 1 MiB buffers (F_SETPIPE_SZ) until the OOM killer strikes: pipe buffers are kernel memory charged to the cgroup (memory.kmem), so kernel-memory.
import fcntl, os, resource, time

# Two descriptors a pipe: a soft limit of 1024 would stop at 512 MiB of pipes, so take the hard limit.
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

F_SETPIPE_SZ = 1031
held = []
while True:
    read_end, write_end = os.pipe()
    size = fcntl.fcntl(write_end, F_SETPIPE_SZ, 1 << 20)
    os.set_blocking(write_end, False)
    os.write(write_end, b"\x01" * size)
    held.append((read_end, write_end))
    # About 100 MiB/s, so the samples see the kernel memory build up before the kill.
    time.sleep(0.01)
