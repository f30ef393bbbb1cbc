// The shape every policy of the pack has: a pure function from a resource (its type token and inputs)
// to the list of violation messages. index.ts wraps each one for @pulumi/policy; tests call them directly
// on what the mock harness captured, so the pack and the tests judge exactly the same way.

/** What a rule may know besides the inputs: the stack (taken from the URN at deploy time). */
export interface RuleContext {
  stack?: string;
}

export type Props = Record<string, any>;

export interface ResourceRule {
  /** The policy's id in the pack (kebab-case, unique). */
  name: string;
  description: string;
  /** Resource type tokens the rule reads, e.g. `gcp:compute/instance:Instance`. */
  types: readonly string[];
  /** Violations of this resource, each a sentence naming the value and what is allowed; empty when fine. */
  validate(type: string, props: Props, ctx: RuleContext): string[];
}

/** One stack output as the stack policy sees it (the policy SDK unwraps secrets, so a value is plain text). */
export interface StackRule {
  name: string;
  description: string;
  validate(outputs: Props): string[];
}

/** Reads a dotted path (`nodeConfig.oauthScopes`) out of nested inputs; undefined when any step is missing. */
export function at(props: Props, path: string): any {
  let v: any = props;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[key];
  }
  return v;
}

/** A list input, or an empty list when it is absent (providers treat both the same). */
export function listAt(props: Props, path: string): any[] {
  const v = at(props, path);
  return Array.isArray(v) ? v : [];
}

/** The stack of a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m?.[1];
}

/** A resource's physical name for messages (`"meshscope-dev-gke"`), or `(unnamed)` when the input is absent. */
export function nameOf(props: Props): string {
  return typeof props.name === 'string' ? `"${props.name}"` : '(unnamed)';
}

/** A rule applied to any resource: the rule's violations for the types it reads, nothing for the rest. */
export function violations(rule: ResourceRule, type: string, props: Props, ctx: RuleContext = {}): string[] {
  return rule.types.includes(type) ? rule.validate(type, props, ctx) : [];
}
