import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { ISTIO_RELEASES } from '../../infra/charts';
import { chartValues, istioOperator } from '../../infra/istio-operator';
import { pinOfRelease } from '../../tools/chart-cache';
import { ProgramRun, RecordedResource, runProgram } from './harness';

const RELEASE = 'kubernetes:helm.sh/v3:Release';
const CR_GATEWAY = 'kubernetes:networking.istio.io/v1:Gateway';
const CR_VS = 'kubernetes:networking.istio.io/v1:VirtualService';

function release(run: ProgramRun, chart: string): RecordedResource {
  const found = run.ofType(RELEASE).filter((r) => pinOfRelease(r.inputs).chart === chart);
  assert.equal(found.length, 1, `one ${chart} release`);
  return found[0];
}

describe('mesh', () => {
  let dev: ProgramRun;
  let oap: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    oap = await runProgram({ stack: 'dev', config: { 'meshscope:observability': { alsTarget: 'oap' } } });
  });

  it('exports the IstioOperator as YAML that parses back to the object the charts were derived from', () => {
    const iop = parse(String(dev.outputs.istioOperatorYaml));
    assert.equal(iop.apiVersion, 'install.istio.io/v1alpha1');
    assert.equal(iop.kind, 'IstioOperator');
    const values = chartValues(iop);
    assert.deepEqual(release(dev, 'istiod').inputs.values, JSON.parse(JSON.stringify(values.istiod)));
    assert.deepEqual(release(dev, 'base').inputs.values, JSON.parse(JSON.stringify(values.base)));
    assert.deepEqual(release(dev, 'gateway').inputs.values, JSON.parse(JSON.stringify(values.eastwest)));
  });

  it('maps meshConfig to istiod meshConfig, values.global to the charts that read it and values.pilot to istiod top level', () => {
    const iop = istioOperator({ istioVersion: '1.30.3', meshId: 'm', clusterName: 'c', network: 'n', alsAddress: 'a:1', eastwestIp: '10.0.0.9' });
    const v = chartValues(iop);
    assert.deepEqual(v.istiod.meshConfig, iop.spec.meshConfig);
    for (const chart of [v.istiod, v.eastwest]) assert.deepEqual(chart.global, iop.spec.values.global);
    // The base chart reads no mesh setting (test/render shows its render is the same either way).
    assert.deepEqual(v.base, {});
    iop.spec.values.pilot.env = { PILOT_TRACE_SAMPLING: '1' };
    assert.deepEqual(chartValues(iop).istiod.env, { PILOT_TRACE_SAMPLING: '1' });
  });

  it('sets no istiod flag to its default and no deprecated proxy metadata', () => {
    const iop = istioOperator({ istioVersion: '1.30.3', meshId: 'm', clusterName: 'c', network: 'n', alsAddress: 'a:1', eastwestIp: '10.0.0.9' });
    // WorkloadEntry auto-registration and health checks are on by default in istiod (pilot/pkg/features).
    assert.deepEqual(iop.spec.values.pilot.env, {});
    // Deprecated since 1.25: istiod allocates addresses (PILOT_ENABLE_IP_AUTOALLOCATE, on by default).
    assert.equal(iop.spec.meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_AUTO_ALLOCATE, undefined);
    assert.equal(iop.spec.meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE, 'true');
  });

  it('turns ALS on and points pod sidecars at the receiver in-cluster Service output', () => {
    const svc = dev.ofType('kubernetes:core/v1:Service').find((s) => s.name === 'observability-receiver-svc')!;
    const expected = `${svc.state.metadata.name}.${svc.state.metadata.namespace}.svc.cluster.local:11800`;
    const mc = release(dev, 'istiod').inputs.values.meshConfig;
    assert.equal(mc.enableEnvoyAccessLogService, true);
    assert.equal(mc.defaultConfig.envoyAccessLogService.address, expected);
    assert.equal(dev.outputs.alsAddressForPods, expected);
  });

  it('points sidecars at OAP, and turns on OAP mx-mesh analysis, when als.target is oap', () => {
    const mc = release(oap, 'istiod').inputs.values.meshConfig;
    assert.equal(mc.defaultConfig.envoyAccessLogService.address, oap.outputs.oapAddress);
    assert.match(String(oap.outputs.oapAddress), /^skywalking-oap\.skywalking\.svc\.cluster\.local:11800$/);
    const sw = oap.ofType(RELEASE).find((r) => r.inputs.name === 'skywalking')!;
    assert.deepEqual(sw.inputs.values.oap.env, { SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: 'mx-mesh', SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: 'mx-mesh' });
    const swDev = dev.ofType(RELEASE).find((r) => r.inputs.name === 'skywalking')!;
    assert.deepEqual(swDev.inputs.values.oap.env, {});
  });

  it('sets mesh ID, network and cluster name from the stack and the cluster output', () => {
    const g = release(dev, 'istiod').inputs.values.global;
    assert.equal(g.meshID, 'meshscope-dev');
    assert.equal(g.network, 'meshscope-dev-network');
    assert.equal(g.multiCluster.clusterName, dev.one('gcp:container/cluster:Cluster').inputs.name);
  });

  it('installs every chart at the configured Istio version, pinned to Istio\'s chart repository and taken from the chart cache, in order', () => {
    const run = dev;
    for (const chart of ['base', 'istiod', 'gateway']) {
      const r = release(run, chart);
      assert.equal(r.inputs.version, '1.30.3');
      assert.equal(pinOfRelease(r.inputs).repo, 'https://istio-release.storage.googleapis.com/charts');
      assert.equal(r.inputs.repositoryOpts, undefined);
      assert.equal(r.inputs.namespace, 'istio-system');
    }
    assert.ok(release(run, 'istiod').dependsOn.includes(release(run, 'base').urn));
    assert.ok(release(run, 'gateway').dependsOn.includes(release(run, 'istiod').urn));
  });

  // Config accepts only the releases pinned in infra/charts.ts (an unpinned one is refused there).
  for (const version of Object.keys(ISTIO_RELEASES)) {
    it(`follows the Istio version in config (${version})`, async () => {
      const run = await runProgram({ stack: 'dev', config: { 'meshscope:versions': { istio: version } } });
      assert.deepEqual(run.ofType(RELEASE).filter((r) => pinOfRelease(r.inputs).repo.includes('istio')).map((r) => r.inputs.version), [version, version, version]);
      assert.equal(parse(String(run.outputs.istioOperatorYaml)).spec.tag, version);
    });
  }

  it('refuses an Istio version whose charts are not pinned', async () => {
    await assert.rejects(runProgram({ stack: 'dev', config: { 'meshscope:versions': { istio: '1.29.2' } } }), /1\.29\.2.*(not pinned|allowed)/s);
  });

  it('runs the east-west gateway on an internal load balancer at a reserved IP with ports 15021/15443/15012/15017', () => {
    const gw = release(dev, 'gateway').inputs.values;
    assert.deepEqual(gw.service.annotations, { 'networking.gke.io/load-balancer-type': 'Internal' });
    // The chart derives the four ports from networkGateway (test/render checks the rendered Service).
    assert.equal(gw.networkGateway, 'meshscope-dev-network');
    assert.equal(gw.service.ports, undefined);
    const address = dev.one('gcp:compute/address:Address', 'eastwest-ip');
    assert.equal(address.inputs.addressType, 'INTERNAL');
    assert.equal(address.inputs.subnetwork, dev.one('gcp:compute/subnetwork:Subnetwork').id);
    assert.equal(gw.service.loadBalancerIP, address.state.address);
    assert.equal(dev.outputs.eastwestGatewayIp, address.state.address);
    assert.equal(gw.labels.istio, 'eastwestgateway');
  });

  it('exposes istiod to VMs through the gateway on 15012 and 15017 by TLS passthrough', () => {
    const gateway = dev.one(CR_GATEWAY);
    assert.deepEqual(gateway.inputs.spec.selector, { istio: 'eastwestgateway' });
    assert.deepEqual(gateway.inputs.spec.servers.map((s: any) => [s.port.number, s.tls.mode]), [[15012, 'PASSTHROUGH'], [15017, 'PASSTHROUGH']]);
    const vs = dev.one(CR_VS);
    assert.deepEqual(vs.inputs.spec.gateways, [gateway.inputs.metadata.name]);
    const routes = vs.inputs.spec.tls.map((t: any) => [t.match[0].port, t.route[0].destination.host, t.route[0].destination.port.number]);
    assert.deepEqual(routes, [[15012, 'istiod.istio-system.svc.cluster.local', 15012], [15017, 'istiod.istio-system.svc.cluster.local', 443]]);
  });

  it('enables sidecar injection on the app namespace only', () => {
    const namespaces = dev.ofType('kubernetes:core/v1:Namespace');
    const injected = namespaces.filter((n) => n.inputs.metadata.labels?.['istio-injection'] === 'enabled');
    assert.deepEqual(injected.map((n) => n.inputs.metadata.name), ['boutique']);
  });

  it('captures DNS on every proxy, so VMs resolve cluster services without dnsmasq', () => {
    const mc = release(dev, 'istiod').inputs.values.meshConfig;
    assert.equal(mc.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE, 'true');
  });
});
