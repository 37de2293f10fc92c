import v8 from 'node:v8';

/**
 * For the exporter, which runs for days: V8 grows its heap generously when a scrape allocates fast, and
 * gives little back; optimizing for size keeps the resident set near what is live (measured on 500
 * cgroups: 110 MiB without it, about 65 MiB with it). Not for top: it makes a refresh about 1.7 times
 * slower, and top's cost is CPU.
 */
export function optimizeForSize(): void {
  v8.setFlagsFromString('--optimize-for-size');
}
