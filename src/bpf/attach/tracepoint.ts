// Tracepoints (tracefs events/<category>/<name>): the stable kernel hook bpfcol prefers. The addon
// mounts tracefs at /sys/kernel/tracing when nothing is mounted, or says what to run.
import { Link } from '../link.ts';
import type { AttachTarget } from './target.ts';

export function attachTracepoint(program: AttachTarget, category: string, name: string): Link {
  if (!category || !name || category.includes('/') || name.includes('/')) {
    throw new Error(`tracepoint must be given as category and name (e.g. 'skb', 'kfree_skb'), got '${category}', '${name}'`);
  }
  const link = program.native().attachTracepoint(program.name, category, name);
  return new Link(link, `tracepoint ${category}:${name}`, program);
}
