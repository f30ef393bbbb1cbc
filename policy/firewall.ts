// How a firewall rule reads: who it admits (its sources) and which TCP/UDP ports it opens. Shared by the
// firewall policies so both judge a rule the same way.
import { isUnknown, Props, RuleContext, Unknown } from './rule';

export const WORLD_RANGES = ['0.0.0.0/0', '::/0'];

/**
 * How the program declares a rule the public entry point: its description starts with this mark (set by
 * infra/network.ts for table rows with `publicEntryPoint: true`, the only rows it lets take 0.0.0.0/0).
 */
export const PUBLIC_ENTRY_POINT_MARK = 'public entry point: ';

/** What a declared public entry point may open: web ports over TCP, to named targets only. */
export const PUBLIC_ENTRY_POINT_PORTS = [80, 443];

const SOURCE_FIELDS = ['sourceRanges', 'sourceTags', 'sourceServiceAccounts'] as const;

/**
 * An ingress rule that is enforced and allows traffic (deny rules and egress rules only take access
 * away). Unknown when a field that decides it is unknown (noted in ctx).
 */
export function isAllowingIngress(props: Props, ctx: RuleContext): boolean | undefined {
  for (const field of ['direction', 'disabled', 'allows']) {
    if (isUnknown(props[field])) {
      ctx.undecided(props[field]);
      return undefined;
    }
  }
  return (props.direction ?? 'INGRESS') === 'INGRESS' && props.disabled !== true && Array.isArray(props.allows) && props.allows.length > 0;
}

export function isDeclaredPublic(props: Props): boolean {
  return typeof props.description === 'string' && props.description.startsWith(PUBLIC_ENTRY_POINT_MARK);
}

/** The TCP ports one `allows` entry opens: `all` for every port, else the listed ports and ranges. */
function tcpPortsOf(allow: Props): 'none' | 'all' | [number, number][] {
  const protocol = String(allow.protocol ?? '').toLowerCase();
  if (!['tcp', 'all', '6'].includes(protocol)) return 'none';
  const ports: unknown[] = Array.isArray(allow.ports) ? allow.ports : [];
  if (protocol === 'all' || ports.length === 0) return 'all';
  return ports.map((p) => {
    const [lo, hi = lo] = String(p).split('-').map((x) => Number(x.trim()));
    return [lo, hi];
  });
}

/** True when the rule lets TCP traffic reach `port`: no port list means every port of the protocol. */
export function reachesTcpPort(props: Props, port: number, ctx: RuleContext): boolean {
  return (props.allows as unknown[]).some((a) => {
    if (isUnknown(a)) {
      ctx.undecided(a);
      return false;
    }
    const ports = tcpPortsOf((a ?? {}) as Props);
    return ports === 'all' || (ports !== 'none' && ports.some(([lo, hi]) => lo <= port && port <= hi));
  });
}

/** Why the rule opens more than a public entry point may (any protocol but TCP, other ports, no targets); undefined when it does not. */
export function beyondPublicEntryPoint(props: Props): string | undefined {
  const allows = (props.allows as Props[]).filter((a) => !isUnknown(a));
  for (const a of allows) {
    const protocol = String(a?.protocol ?? '').toLowerCase();
    if (protocol !== 'tcp' && protocol !== '6') return `it allows protocol ${JSON.stringify(a?.protocol)}`;
    const ports = tcpPortsOf(a);
    if (ports === 'none') continue;
    if (ports === 'all') return 'it allows every TCP port';
    const extra = ports.find(([lo, hi]) => !(lo === hi && PUBLIC_ENTRY_POINT_PORTS.includes(lo)));
    if (extra) return `it allows TCP ${extra[0] === extra[1] ? extra[0] : `${extra[0]}-${extra[1]}`}`;
  }
  const targets = [...(Array.isArray(props.targetTags) ? props.targetTags : []), ...(Array.isArray(props.targetServiceAccounts) ? props.targetServiceAccounts : [])];
  if (targets.length === 0 && !isUnknown(props.targetTags) && !isUnknown(props.targetServiceAccounts)) return 'it names no target tags or service accounts (so it applies to every VM)';
  return undefined;
}

/**
 * Every source of the rule, as text for messages: ranges, `tag:<t>`, `serviceAccount:<sa>`. A rule with
 * none admits 0.0.0.0/0 (GCE's default source for an ingress rule). Unknown sources are noted in ctx and
 * left out; when one is unknown the default cannot be applied.
 */
export function sourcesOf(props: Props, ctx: RuleContext): string[] {
  let unknown = false;
  const note = (u: Unknown): [] => {
    ctx.undecided(u);
    unknown = true;
    return [];
  };
  const list = (k: string): string[] => {
    const v = props[k];
    if (isUnknown(v)) return note(v);
    return Array.isArray(v) ? v.flatMap((x) => (isUnknown(x) ? note(x) : [String(x)])) : [];
  };
  const sources = [...list('sourceRanges'), ...list('sourceTags').map((t) => `tag:${t}`), ...list('sourceServiceAccounts').map((s) => `serviceAccount:${s}`)];
  if (sources.length === 0 && !unknown && SOURCE_FIELDS.every((f) => props[f] === undefined || Array.isArray(props[f]))) {
    return ['0.0.0.0/0 (no source given: GCE admits every address)'];
  }
  return sources;
}

/** The range part of a source as `sourcesOf` writes it. */
export function rangeOfSource(source: string): string | undefined {
  if (source.startsWith('tag:') || source.startsWith('serviceAccount:')) return undefined;
  return source.split(' ')[0];
}
