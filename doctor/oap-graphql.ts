// OAP's GraphQL query API (apache/skywalking-query-protocol, served by OAP 10.4 at POST /graphql on its
// REST port): the services of the mesh layer and the global topology of the last minutes. The window is
// written in OAP's own time zone (getTimeInfo), the detail a UI in another zone gets wrong.

/** OAP's layer of service-mesh (ALS) data (metadata-v2.graphqls: ID 1, "mesh"; Layer enum name MESH). */
export const MESH_LAYER = 'MESH';

export const QUERIES = {
  // metadata-v2.graphqls: getTimeInfo: TimeInfo {timezone "+0800", currentTimestamp ms}
  timeInfo: 'query { getTimeInfo { timezone currentTimestamp } }',
  // metadata-v2.graphqls: listServices(layer: String!): [Service!]!
  services: 'query ($layer: String!) { listServices(layer: $layer) { id name } }',
  // topology.graphqls: getGlobalTopology(duration: Duration!, layer: String): Topology {nodes, calls}
  topology: 'query ($duration: Duration!, $layer: String) { getGlobalTopology(duration: $duration, layer: $layer) { nodes { id name } calls { source target } } }',
} as const;

export interface Duration { start: string; end: string; step: 'MINUTE' }

/** `yyyy-MM-dd HHmm` (common.graphqls, MINUTE step) in the zone `+HHMM`/`-HHMM` of OAP. */
export function minuteDuration(nowMs: number, timezone: string, minutes: number): Duration {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(timezone);
  if (!m) throw new Error(`OAP's time zone ${JSON.stringify(timezone)} is not +HHMM or -HHMM`);
  const offsetMs = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  const fmt = (ms: number) => {
    const d = new Date(ms + offsetMs);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
  };
  return { start: fmt(nowMs - minutes * 60_000), end: fmt(nowMs), step: 'MINUTE' };
}

export interface Topology { nodes: { id: string; name: string }[]; calls: { source: string; target: string }[] }

export type GraphqlPost = (body: { query: string; variables?: Record<string, unknown> }) => Promise<{ status: number; body: string }>;

/** Runs one query; a GraphQL `errors` answer or a non-200 is an error naming the query. */
export async function graphql<T>(post: GraphqlPost, name: keyof typeof QUERIES, variables?: Record<string, unknown>): Promise<T> {
  const a = await post({ query: QUERIES[name], ...(variables ? { variables } : {}) });
  if (a.status !== 200) throw new Error(`OAP GraphQL ${name}: HTTP ${a.status}: ${a.body.slice(0, 200).trim()}`);
  const r = JSON.parse(a.body) as { data?: T; errors?: { message: string }[] };
  if (r.errors?.length) throw new Error(`OAP GraphQL ${name}: ${r.errors.map((e) => e.message).join('; ')}`);
  if (!r.data) throw new Error(`OAP GraphQL ${name}: the answer has no data`);
  return r.data;
}
