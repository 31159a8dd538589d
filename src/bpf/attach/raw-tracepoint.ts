// Raw tracepoints: the tracepoint's raw arguments, no tracefs needed.
import { Link } from '../link.ts';
import type { AttachTarget } from './target.ts';

export function attachRawTracepoint(program: AttachTarget, name: string): Link {
  if (!name) throw new Error('raw tracepoint name must not be empty');
  const link = program.native().attachRawTracepoint(program.name, name);
  return new Link(link, `raw_tracepoint ${name}`, program);
}
