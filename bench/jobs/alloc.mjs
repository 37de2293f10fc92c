// An allocation-heavy job with a fixed amount of work: `node alloc.mjs ROUNDS`.
// Each round builds many small objects and a few large buffers, keeps the last few rounds alive and drops
// the rest, so the heap and RSS keep moving and the GC stays busy.
const rounds = Number(process.argv[2] ?? 100);
const kept = [];
let checksum = 0;
for (let round = 0; round < rounds; round++) {
  const objects = new Array(20_000);
  for (let i = 0; i < objects.length; i++) {
    objects[i] = { id: i, name: `item-${round}-${i}`, tags: [i & 7, i & 15], value: i * 1.5 };
  }
  const buffers = [];
  for (let i = 0; i < 8; i++) buffers.push(Buffer.alloc(512 * 1024, round & 0xff));
  const json = JSON.stringify(objects.slice(0, 2000));
  checksum = (checksum + json.length + buffers.length + objects[round % objects.length].id) % 1_000_003;
  kept.push({ objects, buffers });
  if (kept.length > 4) kept.shift();
}
if (checksum < 0) console.log(checksum);
