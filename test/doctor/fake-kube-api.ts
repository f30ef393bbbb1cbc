// A loopback stand-in for the Kubernetes API server, as `kubectl proxy` reaches it: objects served at their
// REST paths (kubernetes.io/docs/reference/using-api/api-concepts: `/api/v1/...` for the core group,
// `/apis/<group>/<version>/...` otherwise; lists as `<Kind>List` with `items`, `labelSelector` filtering;
// a missing object is a `Status` with reason NotFound and code 404), and the proxy subresources
// `/api/v1/namespaces/<ns>/{pods,services}/<name>:<port>/proxy/<path>` forwarded to a loopback server.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

// The resource (plural) of each kind the doctor reads.
const PLURAL: Record<string, string> = {
  WorkloadEntry: 'workloadentries', Deployment: 'deployments', Service: 'services', EndpointSlice: 'endpointslices', Pod: 'pods',
};

function collectionPath(apiVersion: string, kind: string, namespace: string): string {
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${prefix}/namespaces/${namespace}/${PLURAL[kind]}`;
}

export class FakeKubeApi {
  private objects: KubeObject[] = [];
  /** `<ns>/<pods|services>/<name>:<port>` → loopback base URL it proxies to. */
  private proxies = new Map<string, string>();
  readonly requests: { method: string; path: string }[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  reset(objects: KubeObject[], proxies: Record<string, string>): void {
    this.objects = structuredClone(objects);
    this.proxies = new Map(Object.entries(proxies));
    this.requests.length = 0;
  }

  /** Changes one stored object in place (a scenario's one difference from the green cluster). */
  edit(kind: string, namespace: string, name: string, change: (o: KubeObject) => void): void {
    const o = this.objects.find((x) => x.kind === kind && x.metadata.namespace === namespace && x.metadata.name === name);
    if (!o) throw new Error(`fake cluster has no ${kind} ${namespace}/${name}`);
    change(o);
  }

  setProxy(key: string, target: string): void {
    this.proxies.set(key, target);
  }

  private notFound(res: http.ServerResponse, what: string): void {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${what} not found`, reason: 'NotFound', code: 404 }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kube');
    this.requests.push({ method: req.method ?? '', path: url.pathname });
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|services)\/([^/]+)\/proxy(\/.*)$/.exec(url.pathname);
    if (proxy) return this.forward(req, res, `${proxy[1]}/${proxy[2]}/${proxy[3]}`, proxy[4] + url.search);
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    // The API server's version endpoint, in its shape (version.Info).
    if (url.pathname === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ major: '1', minor: '33', gitVersion: 'v1.33.5-gke.1080000', platform: 'linux/amd64' }));
      return;
    }
    const item = this.objects.find((o) => `${collectionPath(o.apiVersion, o.kind, o.metadata.namespace)}/${o.metadata.name}` === url.pathname);
    if (item) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(item));
      return;
    }
    const members = this.objects.filter((o) => collectionPath(o.apiVersion, o.kind, o.metadata.namespace) === url.pathname);
    const kind = Object.entries(PLURAL).find(([, plural]) => url.pathname.endsWith(`/${plural}`))?.[0];
    if (!kind) return this.notFound(res, url.pathname);
    const selector = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('='));
    const items = members.filter((o) => selector.every(([k, v]) => o.metadata.labels?.[k] === v));
    const apiVersion = url.pathname.startsWith('/api/v1') ? 'v1' : url.pathname.split('/').slice(2, 4).join('/');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: `${kind}List`, apiVersion, metadata: { resourceVersion: '4711' }, items }));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, key: string, path: string): void {
    const target = this.proxies.get(key);
    if (!target) {
      // The API server answers 503 when the proxied pod or Service has nothing to reach.
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `no endpoints available for ${key}`, reason: 'ServiceUnavailable', code: 503 }));
      return;
    }
    const up = http.request(target + path, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '', accept: req.headers.accept ?? '*/*' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
      answer.pipe(res);
    });
    up.on('error', (err) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `error trying to reach ${key}: ${err.message}`, reason: 'ServiceUnavailable', code: 503 }));
    });
    req.pipe(up);
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A kubeconfig (the stack's output has this shape, infra/kubeconfig.ts) pointing at the fake, no credentials. */
export function kubeconfigFor(server: string): string {
  return [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: fake, cluster: {server: "${server}"}}]`,
    'users: [{name: fake, user: {}}]',
    'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
    'current-context: fake', '',
  ].join('\n');
}
