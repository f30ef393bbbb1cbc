// Which source ranges stay inside: private and shared address space, and the Google ranges a firewall may
// name (IAP TCP forwarding, load balancer health checks). Anything else is a piece of the internet.
// Sources: RFC 1918, RFC 6598, RFC 4193; IAP: cloud.google.com/iap/docs/using-tcp-forwarding; health
// checks: cloud.google.com/load-balancing/docs/health-check-concepts ("Probe IP ranges").

/** Ranges a firewall source may come from without admitting the internet. */
export const INSIDE_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '10.0.0.0/8', what: 'RFC 1918' },
  { cidr: '172.16.0.0/12', what: 'RFC 1918' },
  { cidr: '192.168.0.0/16', what: 'RFC 1918' },
  { cidr: '100.64.0.0/10', what: 'RFC 6598 shared address space' },
  { cidr: '35.235.240.0/20', what: 'IAP TCP forwarding' },
  { cidr: '35.191.0.0/16', what: 'Google health checks' },
  { cidr: '130.211.0.0/22', what: 'Google health checks' },
  { cidr: 'fc00::/7', what: 'IPv6 unique local' },
  { cidr: '2600:2d00:1:b029::/64', what: 'Google health checks (IPv6)' },
  { cidr: '2600:2d00:1:1::/64', what: 'Google health checks (IPv6)' },
];

/** An address range as [first, last] big integers, IPv4 or IPv6; undefined when malformed. */
function rangeOf(cidr: string): { v6: boolean; first: bigint; last: bigint } | undefined {
  const [addr, prefixText] = cidr.includes('/') ? cidr.split('/') : [cidr, undefined];
  const v6 = addr.includes(':');
  const bits = v6 ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  let value: bigint;
  if (v6) {
    const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
    const groups = (s: string) => (s ? s.split(':') : []);
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
    value = all.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
  } else {
    const octets = addr.split('.');
    if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return undefined;
    value = octets.reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
  }
  const size = 1n << BigInt(bits - prefix);
  const first = value - (value % size);
  return { v6, first, last: first + size - 1n };
}

/** True when `cidr` lies wholly inside private space or a Google range a firewall may name. */
export function isInsideRange(cidr: string): boolean {
  const r = rangeOf(cidr);
  if (!r) return false;
  return INSIDE_RANGES.some((inside) => {
    const i = rangeOf(inside.cidr)!;
    return i.v6 === r.v6 && i.first <= r.first && r.last <= i.last;
  });
}
