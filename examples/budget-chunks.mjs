// Sizes its batches from the container's memory budget: rows are processed in batches, and a batch is
// halved whenever the working set crosses 80 % of the limit, before the kernel would kill the job.
//   headroom run --memory 256m -- node examples/budget-chunks.mjs
// (Outside this repository: import { memoryBudget } from 'headroom-cli'.)
import { memoryBudget } from '../dist/index.js';

const budget = memoryBudget({ threshold: 0.8, intervalMs: 100 });
let batchRows = 2_000_000;
budget.on('pressure', (state) => {
  batchRows = Math.max(10_000, batchRows >> 1);
  console.log(
    `pressure: ${Math.round((state.share ?? 0) * 100)}% of the limit used; batches of ${batchRows} rows now`,
  );
});

const totalRows = Number(process.env.ROWS ?? 6_000_000);
let done = 0;
let sum = 0;
while (done < totalRows) {
  // One batch held in memory at a time, as a transform step would hold it.
  const batch = Array.from({ length: Math.min(batchRows, totalRows - done) }, (_, i) => ({
    id: done + i,
    amount: (done + i) % 97,
  }));
  for (const row of batch) sum += row.amount;
  done += batch.length;
  // Let the budget's timer run between batches.
  await new Promise((resolve) => setImmediate(resolve));
}
console.log(`processed ${done} rows (sum ${sum}); budget at the end: ${JSON.stringify(budget.state())}`);
budget.close();
