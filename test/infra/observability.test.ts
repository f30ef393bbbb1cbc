import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProgramRun, REPO_ROOT, RecordedResource, runProgram } from './harness';
import { minGraceMs } from '../../receiver/src/config';
import { pinOfRelease } from '../../tools/chart-cache';

const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';
const SERVICE = 'kubernetes:core/v1:Service';

function receiverDeployment(run: ProgramRun): RecordedResource {
  return run.ofType(DEPLOYMENT).find((d) => d.inputs.metadata.name === 'meshscope-receiver')!;
}
function env(d: RecordedResource): Record<string, string> {
  return Object.fromEntries(d.inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
}

describe('observability', () => {
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    prod = await runProgram({ stack: 'prod' });
  });

  it('installs SkyWalking from its official chart at the configured versions, with BanyanDB storage', () => {
    const sw = dev.ofType('kubernetes:helm.sh/v3:Release').find((r) => r.inputs.name === 'skywalking')!;
    assert.equal(pinOfRelease(sw.inputs).repo, 'oci://registry-1.docker.io/apache');
    assert.equal(sw.inputs.version, '4.9.0');
    assert.equal(sw.inputs.values.oap.image.tag, '10.4.0');
    assert.equal(sw.inputs.values.ui.image.tag, '10.4.0');
    assert.equal(sw.inputs.values.oap.storageType, 'banyandb');
    assert.equal(sw.inputs.values.banyandb.enabled, true);
    assert.equal(sw.inputs.values.elasticsearch.enabled, false);
  });

  it('runs OAP with the configured replicas: one on dev, a three-node cluster on prod', () => {
    const replicas = (run: ProgramRun) => run.ofType('kubernetes:helm.sh/v3:Release').find((r) => r.inputs.name === 'skywalking')!.inputs.values.oap.replicas;
    assert.equal(replicas(dev), 1);
    assert.equal(replicas(prod), 3);
  });

  it('builds the receiver image from receiver/Dockerfile and pushes it to the stack Artifact Registry repository', () => {
    const repo = dev.one('gcp:artifactregistry/repository:Repository');
    assert.equal(repo.inputs.format, 'DOCKER');
    assert.equal(repo.inputs.location, 'europe-west1');
    const image = dev.one('docker-build:index:Image');
    assert.equal(image.inputs.push, true);
    assert.equal(image.inputs.context.location, REPO_ROOT);
    assert.equal(image.inputs.dockerfile.location, path.join(REPO_ROOT, 'receiver', 'Dockerfile'));
    assert.ok(image.inputs.tags[0].startsWith(`${repo.state.registryUri}/receiver`), image.inputs.tags[0]);
    assert.equal(image.inputs.registries[0].address, 'europe-west1-docker.pkg.dev');
    assert.equal(image.inputs.registries[0].password, 'mock-access-token');
    assert.ok(image.secretInputs.includes('registries'), 'the registry token is a secret');
  });

  it('runs the receiver Deployment from the pushed image digest reference, with the oap sink on the ALS port', () => {
    const d = receiverDeployment(dev);
    const image = dev.one('docker-build:index:Image');
    assert.equal(d.inputs.spec.template.spec.containers[0].image, image.state.ref);
    const e = env(d);
    assert.equal(e.RECEIVER_SINK, 'oap');
    assert.equal(e.RECEIVER_LISTEN, '0.0.0.0:11800');
  });

  it('gives OAP a headless Service of its own on the gRPC port, selecting the chart\'s OAP pods', () => {
    for (const run of [dev, prod]) {
      const svc = run.ofType(SERVICE).find((s) => s.name === 'observability-oap-pods')!;
      assert.equal(svc.inputs.spec.clusterIP, 'None');
      assert.deepEqual(svc.inputs.spec.selector, { app: 'skywalking', release: 'skywalking', component: 'oap' });
      assert.deepEqual(svc.inputs.spec.ports.map((p: { port: number; targetPort: number }) => [p.port, p.targetPort]), [[11800, 11800]]);
      assert.equal(svc.inputs.metadata.namespace, 'skywalking');
    }
  });

  it('points the receiver at every OAP pod: the headless Service by the dns:/// scheme', () => {
    const svc = dev.ofType(SERVICE).find((s) => s.name === 'observability-oap-pods')!;
    assert.equal(env(receiverDeployment(dev)).RECEIVER_OAP_ADDRESS,
      `dns:///${svc.state.metadata.name}.${svc.state.metadata.namespace}.svc.cluster.local:11800`);
  });

  it('ages the receiver\'s ALS connections (5 min, 90 s grace) so a replica added later takes its share, with a grace the receiver accepts', () => {
    for (const run of [dev, prod]) {
      const e = env(receiverDeployment(run));
      assert.deepEqual([e.RECEIVER_MAX_CONNECTION_AGE_MS, e.RECEIVER_MAX_CONNECTION_AGE_GRACE_MS], ['300000', '90000']);
      assert.ok(Number(e.RECEIVER_MAX_CONNECTION_AGE_GRACE_MS) >= minGraceMs(Number(e.RECEIVER_MAX_CONNECTION_AGE_MS)), 'the receiver refuses a shorter grace');
    }
  });

  it('keeps the chart\'s OAP Service as the OAP address output', () => {
    const oapService = dev.resources.find((r) => r.read && r.type === SERVICE)!;
    assert.equal(oapService.id, 'skywalking/skywalking-oap');
    assert.equal(dev.outputs.oapAddress, `${oapService.state.metadata.name}.${oapService.state.metadata.namespace}.svc.cluster.local:11800`);
  });

  it('probes the receiver on its admin port and runs it non-root, read-only, with resources', () => {
    const c = receiverDeployment(dev).inputs.spec.template.spec.containers[0];
    assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/readyz', 8080]);
    assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/healthz', 8080]);
    assert.equal(receiverDeployment(dev).inputs.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(c.resources.requests.cpu);
    assert.equal(c.resources.limits.memory, '576Mi', '96 MiB for the primary and 240 MiB for each of its 2 workers (BENCHMARKS.md rounds 4 and 5)');
    assert.equal(c.resources.requests.memory, '384Mi', 'the pod measured at the bench\'s (b) load (BENCHMARKS.md round 5)');
    assert.deepEqual(c.command, ['node', '--max-old-space-size=128', '--max-semi-space-size=8', '--heap-growing-percent=100', 'receiver/dist/main.js'],
      'V8 heap and young generation capped inside the limit, old generation with headroom (BENCHMARKS.md rounds 4 and 5)');
    assert.equal(env(receiverDeployment(dev)).NODE_OPTIONS, undefined, 'flags on the command line only');
    // The command replaces the image's ENTRYPOINT: it must run what the ENTRYPOINT runs.
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(fs.readFileSync(path.join(REPO_ROOT, 'receiver', 'Dockerfile'), 'utf8'));
    const [binary, ...script] = JSON.parse(entrypoint![1]!) as string[];
    assert.deepEqual([c.command[0], ...c.command.slice(-script.length)], [binary, ...script]);
  });

  it('runs one receiver worker per core of the container\'s CPU limit, read from that limit', () => {
    const c = receiverDeployment(dev).inputs.spec.template.spec.containers[0];
    assert.equal(c.resources.limits.cpu, '2');
    const workers = c.env.find((e: { name: string }) => e.name === 'RECEIVER_WORKERS');
    assert.deepEqual(workers.valueFrom, { resourceFieldRef: { containerName: c.name, resource: 'limits.cpu', divisor: '1' } });
  });

  it('gives pod sidecars a headless Service, so each Envoy spreads its streams over every replica', () => {
    const svc = dev.ofType(SERVICE).find((s) => s.name === 'observability-receiver-svc')!;
    assert.equal(svc.inputs.spec.clusterIP, 'None');
    assert.deepEqual(svc.inputs.spec.selector, receiverDeployment(dev).inputs.spec.selector.matchLabels);
  });

  it('gives VM sidecars an internal load balancer on a reserved IP in the subnet', () => {
    const address = dev.one('gcp:compute/address:Address', 'receiver-ip');
    const ilb = dev.ofType(SERVICE).find((s) => s.name === 'observability-receiver-ilb')!;
    assert.equal(ilb.inputs.spec.type, 'LoadBalancer');
    assert.deepEqual(ilb.inputs.metadata.annotations, { 'networking.gke.io/load-balancer-type': 'Internal' });
    assert.equal(ilb.inputs.spec.loadBalancerIP, address.state.address);
    assert.equal(address.inputs.subnetwork, dev.one('gcp:compute/subnetwork:Subnetwork').id);
    assert.equal(dev.outputs.receiverInternalAddress, `${address.state.address}:11800`);
    assert.equal(dev.outputs.alsAddressForVms, dev.outputs.receiverInternalAddress);
  });

  it('scales the receiver on CPU between the configured bounds and keeps one up during disruptions', () => {
    for (const [run, min, max] of [[dev, 1, 3], [prod, 2, 6]] as const) {
      const hpa = run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler');
      assert.deepEqual([hpa.inputs.spec.minReplicas, hpa.inputs.spec.maxReplicas], [min, max]);
      assert.equal(hpa.inputs.spec.metrics[0].resource.name, 'cpu');
      assert.equal(hpa.inputs.spec.scaleTargetRef.name, 'meshscope-receiver');
      // The HPA owns the count: a replicas field would be reset on every update of the Deployment.
      assert.equal(receiverDeployment(run).inputs.spec.replicas, undefined);
    }
    assert.equal(dev.one('kubernetes:policy/v1:PodDisruptionBudget').inputs.spec.maxUnavailable, 1);
  });

  it('gives VMs an internal OAP address instead when als.target is oap', async () => {
    const run = await runProgram({ stack: 'dev', config: { 'meshscope:observability': { alsTarget: 'oap' } } });
    const address = run.one('gcp:compute/address:Address', 'oap-ip');
    assert.equal(run.outputs.alsAddressForVms, `${address.state.address}:11800`);
    const ilb = run.ofType(SERVICE).find((s) => s.name === 'observability-oap-ilb')!;
    assert.deepEqual(ilb.inputs.spec.selector, { app: 'skywalking', release: 'skywalking', component: 'oap' });
  });

  it('keeps OAP and the receiver out of the mesh (no injection on their namespace)', () => {
    const ns = dev.ofType('kubernetes:core/v1:Namespace').find((n) => n.inputs.metadata.name === 'skywalking')!;
    assert.equal(ns.inputs.metadata.labels?.['istio-injection'], undefined);
  });

  it('tells the user how to reach the SkyWalking UI', () => {
    assert.equal(dev.outputs.skywalkingUi, 'kubectl -n skywalking port-forward svc/skywalking-ui 8080:80  # then open http://localhost:8080');
  });
});
