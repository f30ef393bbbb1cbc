// The shape every policy of the pack has: a pure function from a resource (its type token and inputs)
// to the list of violation messages. pack.ts wraps each one for @pulumi/policy; tests call them directly
// on what the mock harness captured, so the pack and the tests judge exactly the same way.
//
// At preview some inputs are not known yet (an output of a resource not created yet). Those reach a rule
// as `Unknown` markers: a rule judges everything it knows and hands each marker it would have needed to
// `ctx.undecided`, so only that part is left to the update (reported as advisory at preview).

/** An input whose value is not known until the update (its path in the inputs, e.g. `metadata`). */
export class Unknown {
  constructor(readonly path: string) {}
  toString(): string {
    return `(unknown until the update: ${this.path})`;
  }
}

export function isUnknown(v: unknown): v is Unknown {
  return v instanceof Unknown;
}

/** What a rule may know besides the inputs: the stack (taken from the URN at deploy time). */
export interface RuleContext {
  stack?: string;
  /** The Helm chart resource (its URN's name) a resource is a child of, from its URN: e.g. a helm.sh/v4 Chart's objects. */
  chart?: string;
  /** Notes an input the rule could not judge because it is unknown at preview. */
  undecided(value: Unknown): void;
}

export type Props = Record<string, any>;

export interface ResourceRule {
  /** The policy's id in the pack (kebab-case, unique). */
  name: string;
  description: string;
  /** Resource type tokens the rule reads, e.g. `gcp:compute/instance:Instance`. */
  types: readonly string[];
  /** Further types by pattern, for families such as every `…IamMember` of every GCP module. */
  typePattern?: RegExp;
  /** `advisory` reports without failing; every rule is mandatory unless it says why not. */
  enforcement?: 'advisory';
  /** Violations of this resource, each a sentence naming the value and what is allowed; empty when fine. */
  validate(type: string, props: Props, ctx: RuleContext): string[];
}

/** One stack output as the stack policy sees it (the policy SDK unwraps secrets, so a value is plain text). */
export interface StackRule {
  name: string;
  description: string;
  /** Without a context (tests, outputs of a finished update) every value is known. */
  validate(outputs: Props, ctx?: RuleContext): string[];
}

/** Reads a dotted path (`nodeConfig.oauthScopes`) out of nested inputs; undefined when any step is missing. */
export function at(props: Props, path: string): any {
  let v: any = props;
  for (const key of path.split('.')) {
    if (isUnknown(v)) return v;
    if (v === null || typeof v !== 'object') return undefined;
    v = v[key];
  }
  return v;
}

/** A list input, or an empty list when it is absent (providers treat both the same); an unknown list is noted. */
export function listAt(props: Props, path: string, ctx: RuleContext): any[] {
  const v = at(props, path);
  if (isUnknown(v)) ctx.undecided(v);
  return Array.isArray(v) ? v : [];
}

/** The stack of a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m?.[1];
}

/** The chart a resource was rendered from: a URN whose type chain (`parent$child`) passes through a Helm chart
 * (`…$kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:Deployment::name`) names that chart's resource. */
export function chartOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:[^:]+::[^:]+::(.+)::(.+)$/.exec(urn);
  if (!m) return undefined;
  const chain = m[1].split('$');
  if (!chain.slice(0, -1).some((t) => /^kubernetes:helm\.sh\/v\d+:(Chart|Release)$/.test(t))) return undefined;
  // Child names are `<chart resource>:<namespace>/<name>` (pulumi-kubernetes prefixes them with the chart's name).
  return m[2].split(':')[0];
}

/** A resource's physical name for messages (`"meshscope-dev-gke"`), or `(unnamed)` when the input is absent. */
export function nameOf(props: Props): string {
  return typeof props.name === 'string' ? `"${props.name}"` : '(unnamed)';
}

export function appliesTo(rule: ResourceRule, type: string): boolean {
  return rule.types.includes(type) || (rule.typePattern?.test(type) ?? false);
}

/** A rule's findings: its violations, and the unknown inputs it could not judge. */
export interface Judgement {
  violations: string[];
  undecided: string[];
}

/** A context that collects the paths of the unknown inputs a rule could not judge into `undecided`. */
export function collectingContext(stack: string | undefined, undecided: string[], chart?: string): RuleContext {
  return { stack, chart, undecided: (u) => { if (!undecided.includes(u.path)) undecided.push(u.path); } };
}

/** A rule applied to any resource: the rule's findings for the types it reads, nothing for the rest. */
export function judge(rule: ResourceRule, type: string, props: Props, stack?: string): Judgement {
  const undecided: string[] = [];
  const violations = appliesTo(rule, type) ? rule.validate(type, props, collectingContext(stack, undecided)) : [];
  return { violations, undecided };
}

/** The violations alone (what a test of a fully known resource asserts). */
export function violations(rule: ResourceRule, type: string, props: Props, ctx: { stack?: string } = {}): string[] {
  return judge(rule, type, props, ctx.stack).violations;
}

/** A context for rules judged outside the pack, where nothing is unknown (tests, the stack outputs of `up`). */
export function knownContext(stack?: string): RuleContext {
  return { stack, undecided: () => {} };
}
