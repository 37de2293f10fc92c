# Maps a file larger than the limit read-only and touches every page: the mapped pages are clean file cache the kernel can drop, so page-cache.
import mmap, sys

with open(sys.argv[1], "rb") as f:
    view = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    total = 0
    for offset in range(0, len(view), mmap.PAGESIZE):
        total += view[offset]
    view.close()
print(total)
