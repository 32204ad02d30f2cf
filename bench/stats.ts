/** Median and 95th percentile of a sample, in the sample's unit. */
export function summarize(values: number[]): { median: number; p95: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { median: at(0.5), p95: at(0.95), n: sorted.length };
}

export const ms = (x: number) => `${x.toFixed(1)} ms`;
