export * from './common.ts';
export * from './traces.ts';
export * from './metrics.ts';
export * from './logs.ts';
export * from './profiles.ts';
export * from './signal.ts';
