import { strict as assert } from 'node:assert';
import { ConfigError, parseStackConfig, RawConfig } from '../../infra/config';
import { runProgram, stackFileConfig } from './harness';

/** A valid config (dev's file) with some keys replaced; objects are merged one level deep. */
function devWith(changes: Record<string, unknown>): RawConfig {
  const raw: RawConfig = stackFileConfig('dev');
  for (const [key, value] of Object.entries(changes)) {
    const [top, sub] = key.split('.');
    if (sub) {
      const obj = JSON.parse(raw[top] ?? '{}');
      if (value === undefined) delete obj[sub];
      else obj[sub] = value;
      raw[top] = JSON.stringify(obj);
    } else {
      raw[top] = value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return raw;
}

function problemsOf(raw: RawConfig): string[] {
  try {
    parseStackConfig(raw, 'dev');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('stack config', () => {
  it('reads the dev stack file into typed values', () => {
    const c = parseStackConfig(stackFileConfig('dev'), 'dev');
    assert.equal(c.cluster.nodeCount, 3);
    assert.equal(c.cluster.privateNodes, false);
    assert.deepEqual(c.vmWorkloads.map((w) => [w.name, w.port, w.protocol]), [['checkoutservice', 5050, 'grpc'], ['paymentservice', 50051, 'grpc']]);
  });

  it('makes prod bigger and private', () => {
    const dev = parseStackConfig(stackFileConfig('dev'), 'dev');
    const prod = parseStackConfig(stackFileConfig('prod'), 'prod');
    assert.ok(prod.cluster.nodeCount > dev.cluster.nodeCount);
    assert.equal(prod.cluster.privateNodes, true);
    assert.equal(prod.cluster.deletionProtection, true);
    assert.ok(prod.observability.oapReplicas > 1);
  });

  it('fills documented defaults for optional settings', () => {
    const c = parseStackConfig(devWith({ 'meshscope:observability': undefined, 'meshscope:cluster.releaseChannel': undefined }), 'dev');
    assert.equal(c.observability.alsTarget, 'receiver');
    assert.equal(c.observability.oapStorage, 'banyandb');
    assert.equal(c.cluster.releaseChannel, 'REGULAR');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a missing project', { 'gcp:project': undefined }, /^gcp:project: missing; allowed: a GCP project ID/],
    ['a malformed project', { 'gcp:project': 'My_Project' }, /^gcp:project: got "My_Project"; allowed: a GCP project ID/],
    ['a zone outside the region', { 'gcp:zone': 'us-east1-b' }, /^gcp:zone: got "us-east1-b"; allowed: a zone of region "europe-west1"/],
    ['a node count of zero', { 'meshscope:cluster.nodeCount': 0 }, /^meshscope:cluster.nodeCount: got 0; allowed: a whole number from 1 to 100/],
    ['a node count given as text', { 'meshscope:cluster.nodeCount': 'three' }, /^meshscope:cluster.nodeCount: got "three"; allowed: a whole number/],
    ['an unknown release channel', { 'meshscope:cluster.releaseChannel': 'FAST' }, /^meshscope:cluster.releaseChannel: got "FAST"; allowed: RAPID, REGULAR, STABLE, EXTENDED/],
    ['privateNodes not a boolean', { 'meshscope:cluster.privateNodes': 'yes' }, /^meshscope:cluster.privateNodes: got "yes"; allowed: true or false/],
    ['a misspelt cluster setting', { 'meshscope:cluster.nodeCont': 4 }, /^meshscope:cluster.nodeCont: got 4; unknown setting; allowed: machineType, nodeCount/],
    ['a malformed CIDR', { 'meshscope:network.podsCidr': '10.20.0.0/33' }, /^meshscope:network.podsCidr: got "10.20.0.0\/33"; allowed: an IPv4 CIDR/],
    ['overlapping ranges', { 'meshscope:network.servicesCidr': '10.10.8.0/24' }, /^meshscope:network.servicesCidr: got "10.10.8.0\/24"; overlaps subnetCidr "10.10.0.0\/20"/],
    ['a master range that is not /28', { 'meshscope:network.masterCidr': '172.16.0.0/24' }, /^meshscope:network.masterCidr: got "172.16.0.0\/24"; allowed: a \/28 range/],
    ['an Istio older than the Helm-chart install supports', { 'meshscope:versions.istio': '1.22.3' }, /^meshscope:versions.istio: got "1.22.3"; allowed: 1.24.0 or later/],
    ['an Online Boutique version without its v', { 'meshscope:versions.onlineBoutique': '0.10.6' }, /^meshscope:versions.onlineBoutique: got "0.10.6"; allowed: an Online Boutique release tag vX.Y.Z/],
    ['an unknown ALS target', { 'meshscope:observability.alsTarget': 'zipkin' }, /^meshscope:observability.alsTarget: got "zipkin"; allowed: receiver, oap/],
    ['H2 as OAP storage (gone from SkyWalking)', { 'meshscope:observability.oapStorage': 'h2' }, /^meshscope:observability.oapStorage: got "h2"; allowed: banyandb, elasticsearch, postgresql/],
    ['a receiver maximum below its replicas', { 'meshscope:observability.receiverReplicas': 4, 'meshscope:observability.receiverMaxReplicas': 2 }, /^meshscope:observability.receiverMaxReplicas: got 2; allowed: at least receiverReplicas \(4\)/],
    ['a missing VM workload table', { 'meshscope:vmWorkloads': undefined }, /^meshscope:vmWorkloads: missing; allowed: a list of/],
    ['a VM workload table that is not a list', { 'meshscope:vmWorkloads': { name: 'x' } }, /^meshscope:vmWorkloads: got .*; expected a list/],
    ['a VM workload with a bad port', { 'meshscope:vmWorkloads': [{ name: 'checkoutservice', port: 70000, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].port: got 70000; allowed: a whole number from 1 to 65535/],
    ['a VM workload with an unknown protocol', { 'meshscope:vmWorkloads': [{ name: 'checkoutservice', port: 5050, protocol: 'udp', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].protocol: got "udp"; allowed: grpc, http, tcp/],
    ['a VM workload listed twice', { 'meshscope:vmWorkloads': [{ name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' }, { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads: got "paymentservice"; listed twice/],
    ['a VM workload that is not an Online Boutique service', { 'meshscope:vmWorkloads': [{ name: 'billing', port: 8080, protocol: 'http', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].name: got "billing"; allowed: an Online Boutique service others call: checkoutservice, paymentservice/],
    ['a VM workload on a port its service does not listen on', { 'meshscope:vmWorkloads': [{ name: 'shippingservice', port: 5050, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].port: got 5050; allowed: 50051, the port shippingservice listens on/],
    ['a settings object that is not JSON', { 'meshscope:cluster': '{nodeCount: 3' }, /^meshscope:cluster: got "\{nodeCount: 3"; expected an object of settings/],
  ];
  for (const [what, changes, message] of bad) {
    it(`rejects ${what}, naming the key, the value and what is allowed`, () => {
      const problems = problemsOf(devWith(changes));
      assert.ok(problems.some((p) => message.test(p)), `no problem matched ${message}:\n${problems.join('\n')}`);
    });
  }

  it('reports every problem at once, in one message', () => {
    const raw = devWith({ 'gcp:project': undefined, 'meshscope:cluster.nodeCount': -1 });
    assert.throws(() => parseStackConfig(raw, 'dev'), (e: Error) => /gcp:project: missing/.test(e.message) && /nodeCount: got -1/.test(e.message));
  });

  it('stops the whole program before any resource is declared when the config is bad', async () => {
    await assert.rejects(runProgram({ stack: 'dev', config: { 'gcp:zone': 'mars-1a' } }), /gcp:zone: got "mars-1a"/);
  });
});
