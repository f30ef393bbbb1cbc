// A loopback stand-in for the Compute API's instances.getGuestAttributes
// (cloud.google.com/compute/docs/reference/rest/v1/instances/getGuestAttributes): `GET /compute/v1/projects/
// {project}/zones/{zone}/instances/{instance}/getGuestAttributes?queryPath=ns/` answers
// `{kind: "compute#guestAttributes", queryPath, queryValue: {items: [{namespace, key, value}]}, selfLink}`;
// nothing under the path is a 404 in Google's error shape `{error: {code, message, errors}}`; a missing or
// wrong bearer token is a 401.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeComputeApi {
  /** `project/zone/instance` → guest attributes, as `namespace/key` → value. */
  attributes = new Map<string, Record<string, string>>();
  /** Instances whose request is refused with HTTP 400 and this message (Google's badRequest error). */
  refuse = new Map<string, string>();
  readonly requests: string[] = [];
  constructor(private readonly token: string) {}

  private readonly server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://compute');
    this.requests.push(url.pathname + url.search);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const error = (code: number, message: string, reason: string) => send(code, { error: { code, message, errors: [{ message, domain: 'global', reason }] } });
    if (req.headers.authorization !== `Bearer ${this.token}`) return error(401, 'Request is missing required authentication credential.', 'required');
    const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)\/getGuestAttributes$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return error(404, `The resource '${url.pathname}' was not found`, 'notFound');
    const refused = this.refuse.get(m[3]);
    if (refused) return error(400, refused, 'badRequest');
    const queryPath = url.searchParams.get('queryPath') ?? '';
    const attrs = this.attributes.get(`${m[1]}/${m[2]}/${m[3]}`) ?? {};
    const items = Object.entries(attrs).filter(([k]) => k.startsWith(queryPath))
      .map(([k, value]) => ({ namespace: k.split('/')[0], key: k.split('/')[1], value }));
    if (items.length === 0) return error(404, `The resource 'projects/${m[1]}/zones/${m[2]}/instances/${m[3]}/guestAttributes/${queryPath}' was not found`, 'notFound');
    send(200, {
      kind: 'compute#guestAttributes', queryPath, queryValue: { items },
      selfLink: `https://www.googleapis.com/compute/v1/projects/${m[1]}/zones/${m[2]}/instances/${m[3]}/guestAttributes/${queryPath}`,
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
