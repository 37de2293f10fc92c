// Tight code made of small functions, the kind TurboFan's inlining pays for most: `node small-calls.mjs
// ROUNDS`. Each round adds up points through a tiny class (inlined, escape analysis drops the temporary
// objects), filters, maps and reduces records through arrow functions, and reads records through getters.
class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  add(other) {
    return new Point(this.x + other.x, this.y + other.y);
  }
  get norm() {
    return Math.hypot(this.x, this.y);
  }
}

class Row {
  constructor(id) {
    this.id = id;
    this.score = (id * 7919) % 1000;
  }
  get weight() {
    return this.score > 500 ? 2 : 1;
  }
}

const rounds = Number(process.argv[2] ?? 100);
const rows = Array.from({ length: 10_000 }, (_, i) => new Row(i));
let sum = 0;
for (let round = 0; round < rounds; round++) {
  let point = new Point(0, 0);
  for (let i = 0; i < 10_000; i++) point = point.add(new Point(i & 3, round & 1));
  sum += point.norm;
  sum += rows
    .filter((row) => row.score > 500)
    .map((row) => row.score * row.weight)
    .reduce((a, b) => a + b, 0);
}
if (sum < 0) console.log(sum);
