// Which rule folds a metric, and what its points keep.
import type { KeyValue } from '../../src/pdata/common.ts';
import type { AggregationRule } from './config.ts';

export interface CompiledRule {
  matches(name: string): boolean;
  reduce(attributes: readonly KeyValue[]): KeyValue[];
}

export function compileRule(rule: AggregationRule): CompiledRule {
  const strict = new Set(rule.metric_names);
  const patterns = rule.match_type === 'regexp' ? rule.metric_names.map((n) => new RegExp(n)) : [];
  const keep = rule.keep_attributes && new Set(rule.keep_attributes);
  const drop = rule.drop_attributes && new Set(rule.drop_attributes);
  return {
    matches: (name) => (rule.match_type === 'strict' ? strict.has(name) : patterns.some((p) => p.test(name))),
    reduce: (attributes) => attributes.filter((kv) => (keep ? keep.has(kv.key) : drop ? !drop.has(kv.key) : true)),
  };
}

/** The first rule that matches `name`, memoised per name. */
export class RuleIndex {
  readonly #rules: CompiledRule[];
  readonly #byName = new Map<string, CompiledRule | null>();

  constructor(rules: readonly AggregationRule[]) {
    this.#rules = rules.map(compileRule);
  }

  find(name: string): CompiledRule | undefined {
    let r = this.#byName.get(name);
    if (r === undefined) {
      r = this.#rules.find((rule) => rule.matches(name)) ?? null;
      if (this.#byName.size < 10_000) this.#byName.set(name, r);
    }
    return r ?? undefined;
  }
}
