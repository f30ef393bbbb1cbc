import { strict as assert } from 'node:assert';
import { BOUTIQUE_SERVICES } from '../../catalog/src/online-boutique';
import { ProgramRun, RecordedResource, runProgram } from './harness';

const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';
const SERVICE = 'kubernetes:core/v1:Service';

function inBoutique(run: ProgramRun, type: string): RecordedResource[] {
  return run.ofType(type).filter((r) => r.inputs.metadata?.namespace === 'boutique');
}
function envOf(d: RecordedResource): Record<string, string> {
  return Object.fromEntries((d.inputs.spec.template.spec.containers[0].env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));
}

describe('Online Boutique', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
  });

  it('runs a pod for every service except the ones on VMs', () => {
    const pods = inBoutique(dev, DEPLOYMENT).map((d) => d.inputs.metadata.name).sort();
    const expected = BOUTIQUE_SERVICES.map((s) => s.name).filter((n) => !['checkoutservice', 'paymentservice'].includes(n)).sort();
    assert.deepEqual(pods, expected);
    assert.ok(pods.includes('loadgenerator'));
  });

  it('gives every service, pod or VM, a Service under its usual name', () => {
    const services = inBoutique(dev, SERVICE).map((s) => s.inputs.metadata.name);
    for (const svc of BOUTIQUE_SERVICES.filter((s) => s.servicePort !== undefined)) {
      assert.equal(services.filter((n) => n === svc.name).length, 1, `one Service named ${svc.name}`);
    }
  });

  it('points every address in every env at a Service that exists, on its port', () => {
    const services = new Map(inBoutique(dev, SERVICE).map((s) => [s.inputs.metadata.name, s.inputs.spec.ports.map((p: { port: number }) => p.port)]));
    let checked = 0;
    for (const d of inBoutique(dev, DEPLOYMENT)) {
      const placeholders = Object.keys(BOUTIQUE_SERVICES.find((s) => s.name === d.inputs.metadata.name)!.placeholderEnv ?? {});
      for (const [key, value] of Object.entries(envOf(d)).filter(([k]) => k.endsWith('_ADDR') && !placeholders.includes(k))) {
        const [host, port] = value.split(':');
        assert.ok(services.has(host), `${d.inputs.metadata.name} ${key}=${value}: no Service ${host}`);
        assert.ok(services.get(host)!.includes(Number(port)), `${d.inputs.metadata.name} ${key}=${value}: ${host} has no port ${port}`);
        checked++;
      }
    }
    const expected = BOUTIQUE_SERVICES.filter((s) => !['checkoutservice', 'paymentservice'].includes(s.name)).reduce((n, s) => n + s.calls.length, 0);
    assert.equal(checked, expected, 'every call of every pod has its address');
  });

  it('runs the configured Online Boutique version and names ports by protocol for Istio', () => {
    const frontend = inBoutique(dev, DEPLOYMENT).find((d) => d.inputs.metadata.name === 'frontend')!;
    assert.equal(frontend.inputs.spec.template.spec.containers[0].image, 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend:v0.10.6');
    const cart = inBoutique(dev, SERVICE).find((s) => s.inputs.metadata.name === 'cartservice')!;
    assert.equal(cart.inputs.spec.ports[0].name, 'grpc');
    const redis = inBoutique(dev, SERVICE).find((s) => s.inputs.metadata.name === 'redis-cart')!;
    assert.equal(redis.inputs.spec.ports[0].name, 'tcp');
  });

  it('gives each pod its own service account, its mesh identity', () => {
    const accounts = new Set(inBoutique(dev, 'kubernetes:core/v1:ServiceAccount').map((a) => a.inputs.metadata.name));
    for (const d of inBoutique(dev, DEPLOYMENT)) {
      assert.equal(d.inputs.spec.template.spec.serviceAccountName, d.inputs.metadata.name);
      assert.ok(accounts.has(d.inputs.metadata.name));
    }
  });

  it('exposes only the frontend to the internet', () => {
    const lbs = dev.ofType(SERVICE).filter((s) => s.inputs.spec?.type === 'LoadBalancer');
    const external = lbs.filter((s) => !s.inputs.metadata.annotations?.['networking.gke.io/load-balancer-type']);
    assert.deepEqual(external.map((s) => s.inputs.metadata.name), ['frontend-external']);
    assert.equal(dev.outputs.frontendAddress, external[0].state.status.loadBalancer.ingress[0].ip);
  });

  it('moves a service to a VM with one table entry: no pod, and its callers still find it', async () => {
    const run = await runProgram({ stack: 'dev', config: { 'meshscope:vmWorkloads': [
      { name: 'checkoutservice', port: 5050, protocol: 'grpc', machineType: 'e2-small' },
      { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' },
      { name: 'currencyservice', port: 7000, protocol: 'grpc', machineType: 'e2-small' },
    ] } });
    assert.ok(!inBoutique(run, DEPLOYMENT).some((d) => d.inputs.metadata.name === 'currencyservice'));
    assert.equal(inBoutique(run, SERVICE).filter((s) => s.inputs.metadata.name === 'currencyservice').length, 1);
  });

  it('uses the cluster provider and waits for the mesh before creating its namespace', () => {
    const k8sProvider = dev.one('pulumi:providers:kubernetes');
    for (const r of inBoutique(dev, DEPLOYMENT)) assert.equal(dev.providerOf(r)?.urn, k8sProvider.urn);
    const ns = dev.ofType('kubernetes:core/v1:Namespace').find((n) => n.inputs.metadata.name === 'boutique')!;
    const istiod = dev.ofType('kubernetes:helm.sh/v3:Release').find((r) => r.inputs.name === 'istiod')!;
    assert.ok(ns.dependsOn.includes(istiod.urn));
  });
});
