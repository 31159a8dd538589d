import type { Factories } from '../component/component.ts';
import { loadResolvedConfig } from '../collector.ts';

/** Checks the config; throws ConfigError (printed by the caller) when it is invalid. */
export async function validate(configPaths: string[], factories: Factories, out: (line: string) => void): Promise<number> {
  const { config, unsetEnv } = await loadResolvedConfig({ configPaths, factories });
  for (const name of unsetEnv) out(`warning: environment variable ${name} is not set; it expands to ""`);
  out(`config is valid: ${config.pipelines.length} pipeline(s): ${config.pipelines.map((p) => p.id).join(', ')}`);
  return 0;
}
