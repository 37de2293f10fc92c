import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlightRecorder } from './flight-recorder.js';

/** The flight recorder's own figures, read from it at scrape time. */
export function registerRecorderMetrics(registry: Registry, recorder: FlightRecorder): void {
  new Counter({
    name: 'headroom_postmortems_total',
    help: 'Post-mortems the flight recorder wrote, one per OOM kill.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(recorder.written);
    },
  });
  new Counter({
    name: 'headroom_postmortems_refused_total',
    help: 'OOM kills with no post-mortem: the per-cgroup hourly bound was reached.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(recorder.refused);
    },
  });
  const sizes: Array<[string, string, () => number]> = [
    [
      'headroom_recorder_cgroups',
      'Cgroups the flight recorder keeps a ring for.',
      () => recorder.size.cgroups,
    ],
    ['headroom_recorder_ring_bytes', 'Bytes all the rings hold together.', () => recorder.size.bytes],
    [
      'headroom_recorder_cgroups_dropped',
      "Cgroups not recorded because the rings' budget is spent (--ring-budget).",
      () => recorder.dropped,
    ],
  ];
  for (const [name, help, value] of sizes) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  }
}
