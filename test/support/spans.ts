// Numbered spans for loss tests: each span's id encodes (run, batch, index), so a test can list
// exactly which spans a backend got, and which it did not.
import { randomBytes } from 'node:crypto';
import type { TracesData } from '../../src/pdata/traces.ts';

const T0 = 1_700_000_000_000_000_000n;

/** A batch of `count` spans of service `service`, span ids `<run><batch><index>` in hex. */
export function numberedSpans(run: number, batch: number, count: number, service = 'loss-test'): TracesData {
  const traceId = randomBytes(16).toString('hex');
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'bpfcol.test' },
            spans: Array.from({ length: count }, (_, i) => ({
              traceId,
              spanId: spanId(run, batch, i),
              name: `op-${batch}-${i}`,
              kind: 2,
              startTimeUnixNano: T0 + BigInt(batch * 1000 + i),
              endTimeUnixNano: T0 + BigInt(batch * 1000 + i) + 1_000_000n,
              attributes: [{ key: 'batch', value: { intValue: BigInt(batch) } }],
              events: [],
              links: [],
              status: { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

export function spanId(run: number, batch: number, index: number): string {
  return run.toString(16).padStart(4, '0') + batch.toString(16).padStart(6, '0') + index.toString(16).padStart(6, '0');
}

/** Every span id in some traces data. */
export function spanIds(batches: TracesData[]): string[] {
  const ids: string[] = [];
  for (const d of batches) for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) ids.push(s.spanId);
  return ids;
}

/** The ids of `expected` that are not in `got`, and how many of `got` repeat. */
export function compareIds(expected: string[], got: string[]): { missing: string[]; duplicates: number } {
  const seen = new Set(got);
  return { missing: expected.filter((id) => !seen.has(id)), duplicates: got.length - seen.size };
}
