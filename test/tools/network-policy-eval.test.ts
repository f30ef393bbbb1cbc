// The NetworkPolicy evaluator against the rules of networking.k8s.io/v1, one rule per case, on small policies
// written the way the API documents them.
import { strict as assert } from 'node:assert';
import { Cluster, Endpoint, inCidr, selects } from '../../tools/network-policy-eval';
import { K8sObject } from '../../tools/render-stack';

const ns = (name: string, labels: Record<string, string> = {}): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const policy = (namespace: string, spec: Record<string, unknown>, name = 'p'): K8sObject =>
  ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const podIn = (namespace: string, labels: Record<string, string>, extra: Partial<{ ports: { name?: string; containerPort: number }[]; ip: string }> = {}): Endpoint =>
  ({ name: `${namespace}/${JSON.stringify(labels)}`, pod: { namespace, labels, ...extra } });

const db = podIn('data', { app: 'db' }, { ports: [{ name: 'sql', containerPort: 5432 }] });
const api = podIn('data', { app: 'api' });
const web = podIn('web', { app: 'web' });
const NAMESPACES = [ns('data'), ns('web', { team: 'shop' })];

describe('the NetworkPolicy evaluator', () => {
  it('lets everything reach a pod no policy selects', () => {
    const c = new Cluster([...NAMESPACES, policy('data', { podSelector: { matchLabels: { app: 'other' } }, ingress: [] })]);
    assert.ok(c.allows(web, db, 5432));
  });

  it('isolates a selected pod: a policy with no ingress rules admits nothing', () => {
    const c = new Cluster([...NAMESPACES, policy('data', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })]);
    assert.ok(!c.allows(api, db, 5432));
  });

  it('reads a podSelector alone as pods of the policy\'s own namespace', () => {
    const c = new Cluster([...NAMESPACES, policy('data', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: {} }] }] })]);
    assert.ok(c.allows(api, db, 5432));
    assert.ok(!c.allows(web, db, 5432));
  });

  it('ANDs namespaceSelector and podSelector in one peer, and ORs separate peers', () => {
    const and = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'shop' } }, podSelector: { matchLabels: { app: 'api' } } }] }] })]);
    assert.ok(!and.allows(web, db, 5432));
    const or = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'shop' } } }, { podSelector: { matchLabels: { app: 'nothing' } } }] }] })]);
    assert.ok(or.allows(web, db, 5432));
  });

  it('matches namespaces by kubernetes.io/metadata.name with matchExpressions', () => {
    const c = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['web'] }] } }] }] })]);
    assert.ok(c.allows(web, db, 5432));
    assert.ok(!c.allows(api, db, 5432));
  });

  it('takes ipBlock minus its except ranges, for addresses', () => {
    const c = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.5.0/24'] } }] }] })]);
    assert.ok(c.allows({ name: 'vm', ip: '10.0.4.9' }, db, 5432));
    assert.ok(!c.allows({ name: 'vm', ip: '10.0.5.9' }, db, 5432));
    assert.ok(!c.allows({ name: 'out', ip: '10.1.0.1' }, db, 5432));
    assert.ok(!c.allows(web, db, 5432));
  });

  it('resolves a named port against the destination pod, and checks the protocol and endPort', () => {
    const named = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ ports: [{ port: 'sql' }] }] })]);
    assert.ok(named.allows(web, db, 5432));
    assert.ok(!named.allows(web, db, 5433));
    assert.ok(!named.allows(web, db, 5432, 'UDP'));
    const range = new Cluster([...NAMESPACES, policy('data', { podSelector: {}, ingress: [{ ports: [{ port: 5000, endPort: 5500 }] }] })]);
    assert.ok(range.allows(web, db, 5432) && !range.allows(web, db, 6000));
  });

  it('admits what any selecting policy admits (policies add up)', () => {
    const c = new Cluster([...NAMESPACES,
      policy('data', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] }, 'a'),
      policy('data', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 9090 }] }] }, 'b')]);
    assert.ok(c.allows(api, db, 5432));
    assert.ok(c.allows(web, db, 9090));
    assert.ok(!c.allows(web, db, 5432));
  });

  it('isolates egress only when a policy says Egress (explicitly, or by having egress rules)', () => {
    const ingressOnly = new Cluster([...NAMESPACES, policy('web', { podSelector: {}, policyTypes: ['Ingress'] })]);
    assert.ok(ingressOnly.allows(web, db, 5432));
    const egress = new Cluster([...NAMESPACES, policy('web', { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { app: 'api' } } }] }] })]);
    assert.ok(!egress.allows(web, db, 5432));
    assert.ok(egress.allows(web, api, 80));
  });

  it('reads selectors and CIDRs as the API does', () => {
    assert.ok(selects({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { b: '1' }));
    assert.ok(!selects({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' }));
    assert.ok(selects({}, { any: 'thing' }));
    assert.ok(inCidr('10.110.15.255', '10.110.0.0/20') && !inCidr('10.110.16.0', '10.110.0.0/20'));
  });
});
