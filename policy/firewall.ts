// How a firewall rule reads: who it admits (its sources) and which TCP/UDP ports it opens. Shared by the
// firewall policies so both judge a rule the same way.
import { Props } from './rule';

export const WORLD_RANGES = ['0.0.0.0/0', '::/0'];

/**
 * How the program declares a rule the public entry point: its description starts with this mark (set by
 * infra/network.ts for table rows with `publicEntryPoint: true`, the only rows it lets take 0.0.0.0/0).
 */
export const PUBLIC_ENTRY_POINT_MARK = 'public entry point: ';

/** An ingress rule that is enforced and allows traffic (deny rules and egress rules only take access away). */
export function isAllowingIngress(props: Props): boolean {
  return (props.direction ?? 'INGRESS') === 'INGRESS' && props.disabled !== true && Array.isArray(props.allows) && props.allows.length > 0;
}

export function isDeclaredPublic(props: Props): boolean {
  return typeof props.description === 'string' && props.description.startsWith(PUBLIC_ENTRY_POINT_MARK);
}

/** True when one `allows` entry lets traffic reach `port`: no port list means every port of the protocol. */
function allowReaches(allow: Props, port: number): boolean {
  const protocol = String(allow.protocol ?? '').toLowerCase();
  if (!['tcp', 'all', '6'].includes(protocol)) return false;
  const ports: unknown[] = Array.isArray(allow.ports) ? allow.ports : [];
  if (ports.length === 0) return true;
  return ports.some((p) => {
    const [lo, hi = lo] = String(p).split('-').map((x) => Number(x.trim()));
    return lo <= port && port <= hi;
  });
}

export function reachesTcpPort(props: Props, port: number): boolean {
  return (props.allows as Props[]).some((a) => allowReaches(a ?? {}, port));
}

/** Every source of the rule, as text for messages: ranges, `tag:<t>`, `serviceAccount:<sa>`. */
export function sourcesOf(props: Props): string[] {
  const list = (k: string): string[] => (Array.isArray(props[k]) ? props[k].map(String) : []);
  return [...list('sourceRanges'), ...list('sourceTags').map((t) => `tag:${t}`), ...list('sourceServiceAccounts').map((s) => `serviceAccount:${s}`)];
}

