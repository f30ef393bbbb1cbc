// Who may talk to whom, judged over the rendered NetworkPolicies by tools/network-policy-eval.ts (Kubernetes'
// semantics): each flow the stack needs is allowed and the ones it must not have are refused, for both stacks
// and both ALS targets. Pods are the rendered workloads' own templates (labels and container ports).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../tools/chart-cache';
import { Cluster, Endpoint } from '../../tools/network-policy-eval';
import { RenderedStack } from '../../tools/render-stack';
import { BANYANDB_PORTS, OAP_REST_PORT } from '../../infra/network-policies';
import { OAP_GRPC_PORT } from '../../infra/observability';
import { RECEIVER_ADMIN_PORT, RECEIVER_ALS_PORT } from '../../infra/ports';
import { objectsOf, podTemplates, renderedWithAlsTarget, STACKS } from './rendered';

function pod(r: RenderedStack, namespace: string, owner: string): Endpoint {
  const t = podTemplates(r).find((p) => p.owner.metadata.namespace === namespace && p.owner.metadata.name === owner);
  assert.ok(t, `no rendered workload ${namespace}/${owner}`);
  const ports = [...t.spec.containers, ...(t.spec.initContainers ?? [])].flatMap((c) => c.ports ?? []);
  return { name: `${namespace}/${owner}`, pod: { namespace, labels: t.labels, ports } };
}

/** An address in the stack's subnet, where its VMs get theirs. */
function vmAddress(stack: string): Endpoint {
  const config = parse(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), 'utf8')).config['meshscope:network'];
  const [a, b, c] = String(config.subnetCidr).split('/')[0].split('.');
  return { name: `a VM (${a}.${b}.${c}.10)`, ip: `${a}.${b}.${c}.10` };
}

/** The API server's pod and service proxy on GKE, carried by the Konnectivity agents. */
const API_SERVER_PROXY: Endpoint = { name: 'kube-system/konnectivity-agent', pod: { namespace: 'kube-system', labels: { 'k8s-app': 'konnectivity-agent' } } };
const OUTSIDE: Endpoint = { name: 'an address outside the VPC', ip: '203.0.113.7' };

for (const stack of STACKS) {
  for (const alsTarget of ['receiver', 'oap'] as const) {
    describe(`who may talk to whom (${stack}, ALS to ${alsTarget})`, () => {
      let r: RenderedStack;
      let net: Cluster;
      let p: Record<string, Endpoint>;
      before(async function () {
        this.timeout(120000);
        r = await renderedWithAlsTarget(stack, alsTarget);
        net = new Cluster(objectsOf(r));
        const banyandb = podTemplates(r).filter((t) => t.labels['app.kubernetes.io/name'] === 'banyandb').map((t) => t.owner.metadata.name);
        p = {
          shop: pod(r, 'boutique', 'frontend'), cart: pod(r, 'boutique', 'cartservice'), gateway: pod(r, 'istio-system', 'istio-eastwestgateway'),
          receiver: pod(r, 'skywalking', 'meshscope-receiver'), oap: pod(r, 'skywalking', 'skywalking-oap'), oapInit: pod(r, 'skywalking', 'skywalking-oap-init'),
          ui: pod(r, 'skywalking', 'skywalking-ui'), vm: vmAddress(stack),
          ...Object.fromEntries(banyandb.map((n) => [n, pod(r, 'skywalking', n)])),
        };
      });
      const banyandbPods = () => Object.keys(p).filter((k) => k.startsWith('skywalking-banyandb'));
      const ok = (from: string | Endpoint, to: string, port: number) => {
        const f = typeof from === 'string' ? p[from] : from;
        assert.ok(net.allows(f, p[to], port), `${f.name} → ${p[to].name}:${port} should be allowed`);
      };
      const no = (from: string | Endpoint, to: string, port: number) => {
        const f = typeof from === 'string' ? p[from] : from;
        assert.ok(!net.allows(f, p[to], port), `${f.name} → ${p[to].name}:${port} should be refused`);
      };
      const alsReceiver = alsTarget === 'receiver' ? 'receiver' : 'oap';

      it('renders one ingress policy each for the receiver, OAP, BanyanDB and the UI, and no egress policy (DNS and the rest stay open)', () => {
        const policies = objectsOf(r, 'NetworkPolicy');
        assert.deepEqual(policies.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(),
          ['skywalking/meshscope-banyandb-ingress', 'skywalking/meshscope-oap-ingress', 'skywalking/meshscope-receiver-ingress', 'skywalking/meshscope-ui-ingress']);
        assert.deepEqual(policies.flatMap((o) => (o.spec as { policyTypes: string[] }).policyTypes), ['Ingress', 'Ingress', 'Ingress', 'Ingress']);
      });

      it(`lets sidecars (shop pods, the gateway, VMs through the internal load balancer) stream ALS to the ${alsReceiver}`, () => {
        for (const from of ['shop', 'cart', 'gateway', 'vm']) ok(from, alsReceiver, alsTarget === 'receiver' ? RECEIVER_ALS_PORT : OAP_GRPC_PORT);
      });

      it('lets the receiver and OAP\'s own peers reach OAP\'s gRPC, and the UI its REST port', () => {
        ok('receiver', 'oap', OAP_GRPC_PORT);
        ok('oap', 'oap', OAP_GRPC_PORT);
        ok('ui', 'oap', OAP_REST_PORT);
      });

      it('lets OAP, its schema job and BanyanDB\'s own nodes reach BanyanDB', () => {
        assert.ok(banyandbPods().length > 0);
        for (const b of banyandbPods()) {
          ok('oap', b, BANYANDB_PORTS.grpc);
          ok('oap', b, BANYANDB_PORTS.http);
          ok('oapInit', b, BANYANDB_PORTS.grpc);
          for (const peer of banyandbPods()) ok(peer, b, BANYANDB_PORTS.grpc);
        }
      });

      it('lets its own namespace and the API server\'s proxy (npm run doctor) read the receiver\'s admin port and OAP\'s GraphQL', () => {
        ok('oap', 'receiver', RECEIVER_ADMIN_PORT);
        ok(API_SERVER_PROXY, 'receiver', RECEIVER_ADMIN_PORT);
        ok(API_SERVER_PROXY, 'oap', OAP_REST_PORT);
      });

      it('refuses a shop pod BanyanDB, OAP\'s REST port, the UI and the receiver\'s admin port', () => {
        for (const b of banyandbPods()) for (const port of Object.values(BANYANDB_PORTS)) no('shop', b, port);
        no('shop', 'oap', OAP_REST_PORT);
        no('shop', 'ui', 8080);
        no('shop', 'receiver', RECEIVER_ADMIN_PORT);
        no('vm', 'receiver', RECEIVER_ADMIN_PORT);
      });

      if (alsTarget === 'receiver') {
        it('refuses a shop pod and a VM OAP\'s gRPC (only the receiver feeds OAP)', () => {
          no('shop', 'oap', OAP_GRPC_PORT);
          no('vm', 'oap', OAP_GRPC_PORT);
        });
      } else {
        it('refuses a shop pod the receiver\'s ALS port (nothing sends there when sidecars log to OAP)', () => {
          no('shop', 'receiver', RECEIVER_ALS_PORT);
        });
      }

      it('admits nothing to the UI from other pods (it is reached by port-forward, inside its own network namespace)', () => {
        for (const from of ['oap', 'receiver', 'shop', 'gateway']) no(from, 'ui', 8080);
        no(API_SERVER_PROXY, 'ui', 8080);
      });

      it('refuses the receiver and the UI BanyanDB, and an outside address everything', () => {
        for (const b of banyandbPods()) {
          no('receiver', b, BANYANDB_PORTS.grpc);
          no('ui', b, BANYANDB_PORTS.http);
          no(OUTSIDE, b, BANYANDB_PORTS.http);
        }
        no(OUTSIDE, alsReceiver, alsTarget === 'receiver' ? RECEIVER_ALS_PORT : OAP_GRPC_PORT);
      });
    });
  }
}
