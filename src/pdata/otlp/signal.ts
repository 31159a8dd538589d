// The signals OTLP carries (profiles are bpfcol-internal for now and have no OTLP codec).
import type { SignalData } from '../signal.ts';

export const OTLP_SIGNALS = ['traces', 'metrics', 'logs'] as const;
export type OtlpSignal = (typeof OTLP_SIGNALS)[number];
export type OtlpData<S extends OtlpSignal> = SignalData[S];

export function isOtlpSignal(value: string): value is OtlpSignal {
  return (OTLP_SIGNALS as readonly string[]).includes(value);
}
