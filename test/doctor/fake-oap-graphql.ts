// A loopback stand-in for OAP 10.4's GraphQL query API (POST /graphql, JSON body {query, variables}; the
// queries and answer shapes of apache/skywalking-query-protocol: metadata-v2.graphqls getTimeInfo and
// listServices(layer), topology.graphqls getGlobalTopology(duration, layer) → Topology {nodes {id name}
// calls {source target}}, common.graphqls Duration {start end step}). It answers the one field a query asks
// for, and a GraphQL `errors` answer for anything else, as a GraphQL server does for an unknown field.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OapState {
  timezone: string;
  /** OAP's clock (ms); its current time when absent. */
  now?: number;
  /** Service names per layer. */
  services: Record<string, string[]>;
  /** `source->target` names per layer. */
  relations: Record<string, string[]>;
}

/** OAP's service id: BASE64(name) + '.1' (metadata-v2.graphqls, Service.id). */
const serviceId = (name: string) => `${Buffer.from(name).toString('base64')}.1`;

export class FakeOapGraphql {
  state: OapState = { timezone: '+0000', services: {}, relations: {} };
  readonly asked: { query: string; variables?: Record<string, unknown> }[] = [];

  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const send = (status: number, b: unknown) => {
        res.writeHead(status, { 'content-type': 'application/graphql-response+json' });
        res.end(JSON.stringify(b));
      };
      // Armeria's GraphqlService (OAP's handler) takes POSTs with a JSON content type only.
      if (req.method !== 'POST' || req.url !== '/graphql') return send(404, { error: 'not found' });
      if (!String(req.headers['content-type']).startsWith('application/json')) return send(415, { error: 'unsupported media type' });
      const q = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
      this.asked.push(q);
      const v = q.variables ?? {};
      if (/\bgetTimeInfo\b/.test(q.query)) {
        return send(200, { data: { getTimeInfo: { timezone: this.state.timezone, currentTimestamp: this.state.now ?? Date.now() } } });
      }
      if (/\blistServices\b/.test(q.query)) {
        const names = this.state.services[String(v.layer)] ?? [];
        return send(200, { data: { listServices: names.map((name) => ({ id: serviceId(name), name })) } });
      }
      if (/\bgetGlobalTopology\b/.test(q.query)) {
        const d = v.duration as { start?: string; end?: string; step?: string } | undefined;
        if (!d || !/^\d{4}-\d{2}-\d{2} \d{4}$/.test(d.start ?? '') || !/^\d{4}-\d{2}-\d{2} \d{4}$/.test(d.end ?? '') || d.step !== 'MINUTE') {
          return send(200, { errors: [{ message: `Variable 'duration' has an invalid value: ${JSON.stringify(d)}` }], data: null });
        }
        const rels = (this.state.relations[String(v.layer)] ?? []).map((r) => r.split('->'));
        const names = [...new Set(rels.flat())];
        return send(200, { data: { getGlobalTopology: {
          nodes: names.map((name) => ({ id: serviceId(name), name })),
          calls: rels.map(([s, t]) => ({ source: serviceId(s), target: serviceId(t) })),
        } } });
      }
      send(200, { errors: [{ message: 'Validation error: unknown field' }], data: null });
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
