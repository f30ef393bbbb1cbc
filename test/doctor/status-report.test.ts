// vm-bootstrap/status-report.sh run for real under bash in a throwaway root, against loopback stand-ins of
// the metadata server, Envoy's admin and istiod's port; what it writes must pass the doctor's own schema.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { calleeAddresses, outboundCluster } from '../../doctor/expectations';
import { parseVmStatus, VM_STATUS_KEY, VM_STATUS_NAMESPACE, type VmStatus } from '../../doctor/vm-status';
import { FakeEnvoyAdmin, FakeMetadataServer, listeningPort, STATUS_SCRIPT, VmSandbox } from './vm-sandbox';
import { HANG_GUARD_MS } from '../vm-bootstrap/sandbox';

const NS = 'boutique';
const WORKLOAD = 'checkoutservice';
const CALLEES = calleeAddresses(WORKLOAD, NS);
const ISTIOD_HOST = 'istiod.istio-system.svc';
// The sandbox resolves istiod to loopback, where the stand-in port listens.
const EAST_WEST_IP = '127.0.0.1';
const ALS = '10.10.0.7:11800';
const MINTED = new Date('2026-12-01T10:00:00Z');
const EXPIRES = new Date('2026-12-01T11:00:00Z');
// A service account JWT (unsigned): its exp claim is the one time the report reads from inside it.
const TOKEN = ['{"alg":"RS256"}', JSON.stringify({ sub: 'system:serviceaccount:boutique:paymentservice', exp: EXPIRES.getTime() / 1000 }), 'signature']
  .map((part) => Buffer.from(part).toString('base64url')).join('.');

describe('vm-bootstrap/status-report.sh', function () {
  // A hang guard only: the script's own probes are bounded (timeout 3, curl --max-time), the machine's load is not.
  this.timeout(HANG_GUARD_MS);
  const metadata = new FakeMetadataServer();
  const envoy = new FakeEnvoyAdmin();
  let urls: { metadataUrl: string; envoyAdmin: string };
  let istiod: { port: number; close: () => Promise<void> };
  let vm: VmSandbox;

  before(async () => {
    urls = { metadataUrl: await metadata.start(), envoyAdmin: await envoy.start() };
    istiod = await listeningPort();
  });
  after(async () => {
    await Promise.all([metadata.stop(), envoy.stop(), istiod.close()]);
  });

  /** A VM where everything works: names resolve, every callee has a healthy endpoint, ALS is connected. */
  beforeEach(() => {
    metadata.writes.length = 0;
    metadata.guestAttributesEnabled = true;
    vm = new VmSandbox()
      .resolves({ [ISTIOD_HOST]: EAST_WEST_IP, ...Object.fromEntries(CALLEES.map((c, i) => [c.split(':')[0], `10.24.0.${10 + i}`])) })
      .unit('istio.service', 'active')
      .unit(`meshscope-${WORKLOAD}.service`, 'active')
      .token(TOKEN, MINTED);
    envoy.hosts = [
      ...CALLEES.map((c, i) => ({ cluster: outboundCluster(c), address: `10.8.1.${20 + i}:${c.split(':')[1]}` })),
      { cluster: 'envoy_accesslog_service', address: ALS, cxActive: 1 },
    ];
  });
  afterEach(() => vm.remove());

  const args = (over: Record<string, string> = {}, extra: string[] = []) => {
    const a: Record<string, string> = {
      '--workload': WORKLOAD, '--istiod-host': ISTIOD_HOST, '--east-west-ip': EAST_WEST_IP, '--istiod-port': String(istiod.port),
      '--als-address': ALS, '--phase': 'done', '--exit-code': '0', ...over,
    };
    return [...Object.entries(a).flat(), ...CALLEES.flatMap((c) => ['--callee', c]), ...extra];
  };

  async function report(over: Record<string, string> = {}, extra: string[] = []): Promise<VmStatus> {
    const r = await vm.run(args(over, extra), urls);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(metadata.writes.length, 1, 'one guest attribute write per run');
    return parseVmStatus(metadata.writes[0].body, 'the written status');
  }

  it('writes one document to guest attribute meshscope/status with the Metadata-Flavor header', async () => {
    await report();
    assert.equal(metadata.writes[0].path, `${VM_STATUS_NAMESPACE}/${VM_STATUS_KEY}`);
    assert.equal(metadata.writes[0].flavor, 'Google');
  });

  it('writes a document the doctor’s schema accepts, naming the workload and the bootstrap outcome', async () => {
    const s = await report({ '--phase': 'done', '--exit-code': '0' });
    assert.equal(s.workload, WORKLOAD);
    assert.deepEqual(s.bootstrap, { phase: 'done', exitCode: 0, lastError: null });
  });

  it('passes on a failed bootstrap run’s phase, exit code and last error', async () => {
    const s = await report({ '--phase': 'token', '--exit-code': '1', '--last-error': 'Kubernetes API POST failed: HTTP 403' });
    assert.deepEqual(s.bootstrap, { phase: 'token', exitCode: 1, lastError: 'Kubernetes API POST failed: HTTP 403' });
  });

  it('reports when the istio-token was minted, from its file time', async () => {
    const s = await report();
    assert.equal(s.token.mintedAt, '2026-12-01T10:00:00Z');
  });

  it('reports when the istio-token expires, from its JWT exp claim', async () => {
    const s = await report();
    assert.equal(s.token.expiresAt, '2026-12-01T11:00:00Z');
  });

  it('reports no mint or expiry time when the VM has no istio-token', async () => {
    vm.remove();
    vm = new VmSandbox().resolves({ [ISTIOD_HOST]: EAST_WEST_IP });
    const s = await report();
    assert.deepEqual(s.token, { mintedAt: null, expiresAt: null });
  });

  it('resolves the callees as the workload’s user, whose DNS the sidecar captures (root’s it does not)', async () => {
    vm.user('meshscope-app', 999);
    const s = await report();
    assert.ok(s.dns.every((d) => d.resolvedIp?.startsWith('10.24.0.')), JSON.stringify(s.dns));
    for (const c of CALLEES) assert.ok(vm.calls().includes(`runuser -u meshscope-app -- getent ahostsv4 ${c.split(':')[0]}`), vm.calls().join('\n'));
  });

  it('never writes the token or credential-shaped text from the last error', async () => {
    await report({ '--exit-code': '1', '--last-error': `TokenRequest answered ${TOKEN} with bearer ya29.a0AfH6SMBx-secret` });
    const body = metadata.writes[0].body;
    assert.ok(!body.includes('eyJ'), body);
    assert.ok(!body.includes('ya29.'), body);
    assert.match(parseVmStatus(body, 'status').bootstrap.lastError ?? '', /\[redacted\]/);
  });

  it('reports istiod resolving to the east-west gateway and its port reachable', async () => {
    const s = await report();
    assert.deepEqual(s.istiod, { host: ISTIOD_HOST, expectedIp: EAST_WEST_IP, resolvedIp: EAST_WEST_IP, port: istiod.port, reachable: true });
  });

  it('probes istiod as istio-proxy, whose traffic the sidecar does not capture', async () => {
    vm.user('istio-proxy', 1337);
    const s = await report();
    assert.equal(s.istiod.reachable, true);
    assert.ok(vm.calls().some((c) => c.startsWith(`runuser -u istio-proxy -- timeout 3 bash -c`)), vm.calls().join('\n'));
  });

  it('reports istiod unreachable when nothing answers on its port', async () => {
    const closed = await listeningPort();
    await closed.close();
    const s = await report({ '--istiod-port': String(closed.port) });
    assert.equal(s.istiod.reachable, false);
  });

  it('reports istiod unresolved when the VM cannot resolve its name', async () => {
    vm.resolves({});
    const s = await report();
    assert.equal(s.istiod.resolvedIp, null);
    assert.equal(s.istiod.reachable, false);
  });

  it('reports each callee’s cluster name as the VM resolves it', async () => {
    const s = await report();
    assert.deepEqual(s.dns.map((d) => d.host), CALLEES.map((c) => c.split(':')[0]));
    assert.ok(s.dns.every((d) => d.resolvedIp?.startsWith('10.24.0.')), JSON.stringify(s.dns));
  });

  it('reports a callee name the sidecar’s DNS does not answer as unresolved', async () => {
    vm.resolves({ [ISTIOD_HOST]: EAST_WEST_IP });
    const s = await report();
    assert.ok(s.dns.every((d) => d.resolvedIp === null), JSON.stringify(s.dns));
  });

  it('reports every callee’s outbound cluster with its endpoints and healthy endpoints', async () => {
    const s = await report();
    assert.equal(s.sidecar.adminReachable, true);
    assert.deepEqual(s.sidecar.clusters, CALLEES.map((c) => ({ name: outboundCluster(c), present: true, endpoints: 1, healthy: 1 })));
  });

  it('reports a cluster Envoy lacks as absent and an unhealthy endpoint as not healthy', async () => {
    const [missing, sick] = CALLEES;
    envoy.hosts = envoy.hosts.filter((h) => h.cluster !== outboundCluster(missing))
      .map((h) => (h.cluster === outboundCluster(sick) ? { ...h, healthy: false } : h));
    const s = await report();
    assert.deepEqual(s.sidecar.clusters.find((c) => c.name === outboundCluster(missing)), { name: outboundCluster(missing), present: false, endpoints: 0, healthy: 0 });
    assert.deepEqual(s.sidecar.clusters.find((c) => c.name === outboundCluster(sick)), { name: outboundCluster(sick), present: true, endpoints: 1, healthy: 0 });
  });

  it('reports Envoy’s admin unreachable when nothing serves it', async () => {
    const r = await vm.run(args(), { ...urls, envoyAdmin: 'http://127.0.0.1:1' });
    assert.equal(r.code, 0, r.stderr);
    const s = parseVmStatus(metadata.writes[0].body, 'status');
    assert.equal(s.sidecar.adminReachable, false);
    assert.ok(s.sidecar.clusters.every((c) => !c.present));
  });

  it('reports the systemd state of the sidecar and workload units', async () => {
    vm.unit(`meshscope-${WORKLOAD}.service`, 'failed');
    const s = await report();
    assert.deepEqual(s.units, [{ name: 'istio.service', activeState: 'active' }, { name: `meshscope-${WORKLOAD}.service`, activeState: 'failed' }]);
  });

  it('reports the ALS cluster’s active connections to the receiver', async () => {
    const s = await report();
    assert.deepEqual(s.als, { address: ALS, activeConnections: 1 });
  });

  it('reports no ALS connection when Envoy holds none', async () => {
    envoy.hosts = envoy.hosts.map((h) => (h.cluster === 'envoy_accesslog_service' ? { ...h, cxActive: 0 } : h));
    const s = await report();
    assert.equal(s.als.activeConnections, 0);
  });

  it('exits 1 naming enable-guest-attributes when the metadata server refuses the write', async () => {
    metadata.guestAttributesEnabled = false;
    const r = await vm.run(args(), urls);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 403 .*enable-guest-attributes/);
    assert.match(vm.journal(), /enable-guest-attributes/);
  });

  it('exits 2 naming a malformed argument and what it must be', async () => {
    const r = await vm.run(args({ '--east-west-ip': 'gateway' }), urls);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--east-west-ip 'gateway' is not an IPv4 address/);
    assert.equal(metadata.writes.length, 0);
  });

  it('exits 2 naming an unknown argument', async () => {
    const r = await vm.run(args({}, ['--callees', 'x:1']), urls);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown argument '--callees'/);
  });

  for (const script of [STATUS_SCRIPT, ...readdirSync(join(__dirname, 'shims')).map((s) => join(__dirname, 'shims', s))]) {
    it(`passes shellcheck with zero findings: ${script.split('/').slice(-2).join('/')}`, () => {
      const r = spawnSync('shellcheck', ['--severity=style', script], { encoding: 'utf8' });
      assert.equal(r.error, undefined, 'shellcheck is not installed: apt-get install -y shellcheck');
      assert.equal(r.stdout + r.stderr, '');
      assert.equal(r.status, 0);
    });
  }
});
