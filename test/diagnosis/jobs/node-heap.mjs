// Holds ever more 512 KiB arrays of doubles on the V8 heap: under the guard's --max-old-space-size V8 aborts (status 134) before the cgroup's limit, so runtime-heap-limit.
const keep = [];
for (let i = 0; ; i++) keep.push(new Array(1 << 16).fill(i + 0.5));
