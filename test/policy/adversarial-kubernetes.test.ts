// Bad Kubernetes objects, each with the policy that must stop it, judged by the pack's own analyzer over gRPC
// as `pulumi preview`/`up` would ask it: objects the program declares, broken one way, and releases whose chart
// renders a bad object (the pack renders the chart from the cache with the release's values, for a helm.sh/v3
// Release and a helm.sh/v4 Chart alike, and names the release and the object).
import { strict as assert } from 'node:assert';
import { ensureHelm } from '../../tools/packaged-binaries';
import { renderReleaseSync } from '../../tools/render-release';
import { CHART_CONTAINER_EXCEPTIONS } from '../../policy/chart-exceptions';
import { RESOURCE_RULES } from '../../policy/policies';
import { chartOfUrn, collectingContext } from '../../policy/rule';
import { runProgram } from '../infra/harness';
import { Analyzer, Diagnostic, startAnalyzer, UNKNOWN } from './analyzer';
import { copy, jwt, pemPrivateKey, Props } from './samples';

const SERVICE = 'kubernetes:core/v1:Service';
const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';
const RELEASE = 'kubernetes:helm.sh/v3:Release';
const CHART = 'kubernetes:helm.sh/v4:Chart';
const GITHUB_PAT = `ghp_${'Z9y8X7w6V5'.repeat(4).slice(0, 36)}`;

interface Base { frontendExternal: Props; receiver: Props; cart: Props; role: Props; skywalking: Props }

interface Case { what: string; type: string; props: (b: Base) => Props; policy: string; message: RegExp }

const receiverWith = (change: (d: Props, pod: Props) => void) => (b: Base) => { const d = copy(b.receiver); change(d, d.spec.template.spec); return d; };
const skywalkingWith = (change: (values: Props) => void) => (b: Base) => { const r = copy(b.skywalking); change(r.values); return r; };
/** The same release as a helm.sh/v4 Chart takes it (chart, version, values, namespace, name). */
const asChart = (r: Props) => ({ name: r.name, namespace: r.namespace, chart: r.chart, version: r.version, values: r.values });
const pod = (spec: Props): Props => ({ metadata: { name: 'debug', namespace: 'boutique' }, spec });

const CASES: Case[] = [
  // Exposure
  { what: 'a LoadBalancer Service on 6379 without the internal annotation', type: SERVICE,
    props: () => ({ metadata: { name: 'redis-lb', namespace: 'boutique' }, spec: { type: 'LoadBalancer', selector: { app: 'redis-cart' }, ports: [{ port: 6379 }] } }),
    policy: 'k8s-services-not-public', message: /^Service boutique\/redis-lb: is an external load balancer .* unset\) on port 6379/m },
  { what: 'an internal-looking load balancer with the annotation misspelt ("internal")', type: SERVICE,
    props: () => ({ metadata: { name: 'oap-lb', namespace: 'skywalking', annotations: { 'networking.gke.io/load-balancer-type': 'internal' } }, spec: { type: 'LoadBalancer', ports: [{ port: 11800 }] } }),
    policy: 'k8s-services-not-public', message: /load-balancer-type "internal"\) on port 11800/ },
  { what: 'a NodePort Service', type: SERVICE,
    props: () => ({ metadata: { name: 'ui', namespace: 'skywalking' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] } }),
    policy: 'k8s-services-not-public', message: /^Service skywalking\/ui: is a NodePort Service/m },
  { what: 'the frontend\'s public Service copied into another namespace', type: SERVICE,
    props: (b) => { const s = copy(b.frontendExternal); s.metadata.namespace = 'skywalking'; return s; },
    policy: 'k8s-services-not-public', message: /^Service skywalking\/frontend-external: is an external load balancer/m },
  // Host access
  { what: 'a privileged pod mounting the host\'s / (privileged)', type: 'kubernetes:core/v1:Pod',
    props: () => pod({ containers: [{ name: 'sh', image: 'docker.io/istio/pilot:1.30.3', securityContext: { privileged: true }, resources: { requests: { cpu: '1m', memory: '1Mi' } } }], volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
    policy: 'k8s-no-host-access', message: /^Pod boutique\/debug: spec\.containers\[0\] "sh" is privileged/m },
  { what: 'a privileged pod mounting the host\'s / (hostPath)', type: 'kubernetes:core/v1:Pod',
    props: () => pod({ containers: [{ name: 'sh', image: 'docker.io/istio/pilot:1.30.3', securityContext: { privileged: true } }], volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
    policy: 'k8s-no-host-access', message: /spec\.volumes\[0\] "root" mounts the host path "\/"/ },
  { what: 'a Deployment with hostNetwork and hostPID (hostNetwork)', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.hostNetwork = true; p.hostPID = true; }), policy: 'k8s-no-host-access', message: /spec\.template\.spec\.hostNetwork is true/ },
  { what: 'a Deployment with hostNetwork and hostPID (hostPID)', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.hostNetwork = true; p.hostPID = true; }), policy: 'k8s-no-host-access', message: /spec\.template\.spec\.hostPID is true/ },
  { what: 'a DaemonSet sharing the host IPC namespace', type: 'kubernetes:apps/v1:DaemonSet',
    props: (b) => { const d = copy(b.receiver); d.spec.template.spec.hostIPC = true; return d; }, policy: 'k8s-no-host-access', message: /^DaemonSet skywalking\/meshscope-receiver: spec\.template\.spec\.hostIPC is true/m },
  { what: 'a privileged init container in a CronJob', type: 'kubernetes:batch/v1:CronJob',
    props: (b) => ({ metadata: { name: 'cleanup', namespace: 'skywalking' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { ...copy(b.receiver.spec.template.spec), initContainers: [{ name: 'setup', image: 'docker.io/istio/pilot:1.30.3', securityContext: { privileged: true } }] } } } } } }),
    policy: 'k8s-no-host-access', message: /spec\.jobTemplate\.spec\.template\.spec\.initContainers\[0\] "setup" is privileged/ },
  // Requests
  { what: 'a container with limits but no requests', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.containers[0].resources = { limits: { cpu: '1', memory: '1Gi' } }; }),
    policy: 'k8s-resource-requests', message: /spec\.template\.spec\.containers\[0\] "receiver" requests no cpu or memory/ },
  { what: 'an init container without requests', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.initContainers = [{ name: 'wait', image: 'docker.io/istio/pilot:1.30.3' }]; }),
    policy: 'k8s-resource-requests', message: /initContainers\[0\] "wait" requests no cpu or memory/ },
  { what: 'a container requesting memory only', type: DEPLOYMENT,
    props: (b) => { const d = copy(b.cart); delete d.spec.template.spec.containers[0].resources.requests.cpu; return d; },
    policy: 'k8s-resource-requests', message: /requests no cpu; allowed/ },
  // Images
  { what: 'an untagged image', type: DEPLOYMENT, props: receiverWith((_d, p) => { p.containers[0].image = 'nginx'; }),
    policy: 'k8s-image-sources', message: /image "nginx" has no tag/ },
  { what: 'an image tagged latest from an allowed registry', type: DEPLOYMENT, props: receiverWith((_d, p) => { p.containers[0].image = 'docker.io/istio/pilot:latest'; }),
    policy: 'k8s-image-sources', message: /image "docker\.io\/istio\/pilot:latest" is tagged latest/ },
  { what: 'an image from a registry nobody chose', type: DEPLOYMENT, props: receiverWith((_d, p) => { p.containers[0].image = 'evil.example.com/miner:1.0'; }),
    policy: 'k8s-image-sources', message: /image "evil\.example\.com\/miner:1\.0" comes from evil\.example\.com\/miner/ },
  { what: 'a Docker Hub image outside the allowed organisations', type: DEPLOYMENT, props: receiverWith((_d, p) => { p.containers[0].image = 'someone/istio-proxy:1.30.3'; }),
    policy: 'k8s-image-sources', message: /comes from docker\.io\/someone\/istio-proxy/ },
  { what: 'an image placeholder "auto" outside an Istio-injected gateway', type: DEPLOYMENT, props: receiverWith((_d, p) => { p.containers[0].image = 'auto'; }),
    policy: 'k8s-image-sources', message: /image "auto" comes from docker\.io\/library\/auto/ },
  // Secrets
  { what: 'a ConfigMap holding a PEM key and a token (the key)', type: 'kubernetes:core/v1:ConfigMap',
    props: () => ({ metadata: { name: 'app-config', namespace: 'boutique' }, data: { 'tls.pem': pemPrivateKey(), 'settings.yaml': `github: ${GITHUB_PAT}\n` } }),
    policy: 'k8s-no-secret-values', message: /^ConfigMap boutique\/app-config: data\["tls\.pem"\] holds a PEM private key/m },
  { what: 'a ConfigMap holding a PEM key and a token (the token)', type: 'kubernetes:core/v1:ConfigMap',
    props: () => ({ metadata: { name: 'app-config', namespace: 'boutique' }, data: { 'tls.pem': pemPrivateKey(), 'settings.yaml': `github: ${GITHUB_PAT}\n` } }),
    policy: 'k8s-no-secret-values', message: /data\["settings\.yaml"\] holds a GitHub token/ },
  { what: 'a ConfigMap key named like a password', type: 'kubernetes:core/v1:ConfigMap',
    props: () => ({ metadata: { name: 'db', namespace: 'boutique' }, data: { 'redis-password': 'hunter2' } }),
    policy: 'k8s-no-secret-values', message: /data\["redis-password"\] is named like a secret \("password"\)/ },
  { what: 'a password in a literal env value', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.containers[0].env.push({ name: 'OAP_PASSWORD', value: 'hunter2hunter2' }); }),
    policy: 'k8s-no-secret-values', message: /env\[\d+\] OAP_PASSWORD is named like a secret \("password"\) and has a literal value/ },
  { what: 'a JWT in an innocently named env value', type: DEPLOYMENT,
    props: receiverWith((_d, p) => { p.containers[0].env.push({ name: 'UPSTREAM_AUTH', value: jwt() }); }),
    policy: 'k8s-no-secret-values', message: /env\[\d+\] UPSTREAM_AUTH holds a JWT/ },
  // RBAC
  { what: 'a ClusterRole with every verb', type: 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole',
    props: () => ({ metadata: { name: 'ops' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] }),
    policy: 'k8s-no-rbac-wildcards', message: /^ClusterRole ops: rules\[0\]\.verbs holds "\*"/m },
  { what: 'a VM bootstrap Role widened to every resource', type: 'kubernetes:rbac.authorization.k8s.io/v1:Role',
    props: (b) => { const r = copy(b.role); r.rules[0].resources = ['*']; return r; },
    policy: 'k8s-no-rbac-wildcards', message: /rules\[0\]\.resources holds "\*"/ },
  // What a chart renders, from the release's inputs
  { what: 'the SkyWalking release with the BanyanDB subchart\'s default HTTP Service (a public database)', type: RELEASE,
    props: skywalkingWith((v) => { delete v.banyandb.standalone.httpSvc; }),
    policy: 'k8s-services-not-public', message: /^release "skywalking" \(skywalking-helm 4\.9\.0\): Service skywalking\/skywalking-banyandb-http: is an external load balancer .* on port 17913/m },
  { what: 'the same release as a helm.sh/v4 Chart', type: CHART,
    props: (b) => asChart(skywalkingWith((v) => { delete v.banyandb.standalone.httpSvc; })(b)),
    policy: 'k8s-services-not-public', message: /^chart "skywalking" \(skywalking-helm 4\.9\.0\): Service skywalking\/skywalking-banyandb-http: is an external load balancer/m },
  { what: 'the SkyWalking release in cluster mode with the FODC proxy\'s default Service', type: RELEASE,
    props: skywalkingWith((v) => { v.banyandb.standalone.enabled = false; v.banyandb.cluster.enabled = true; v.banyandb.cluster.fodc = { enabled: true }; }),
    policy: 'k8s-services-not-public', message: /Service skywalking\/skywalking-banyandb-fodc-proxy-http: is an external load balancer/ },
  { what: 'the SkyWalking release with the chart\'s OAP resources (none)', type: RELEASE,
    props: skywalkingWith((v) => { delete v.oap.resources; }),
    policy: 'k8s-resource-requests', message: /Deployment skywalking\/skywalking-oap: spec\.template\.spec\.containers\[0\] "oap" requests no cpu or memory/ },
  { what: 'the SkyWalking release with OAP\'s image switched to latest', type: RELEASE,
    props: skywalkingWith((v) => { v.oap.image.tag = 'latest'; }),
    policy: 'k8s-image-sources', message: /Deployment skywalking\/skywalking-oap: .*skywalking-oap-server:latest" is tagged latest/ },
  { what: 'the SkyWalking release in cluster mode with FODC\'s images (ghcr.io, not an allowed registry)', type: CHART,
    props: (b) => asChart(skywalkingWith((v) => { v.banyandb.standalone.enabled = false; v.banyandb.cluster.enabled = true; v.banyandb.cluster.fodc.enabled = true; })(b)),
    policy: 'k8s-image-sources', message: /StatefulSet skywalking\/skywalking-banyandb-data-hot: .*"fodc-agent": image "ghcr\.io\/apache\/skywalking-banyandb-fodc-agent:0\.10\.1" comes from ghcr\.io/ },
  { what: 'chart values holding a token', type: RELEASE,
    props: skywalkingWith((v) => { v.oap.env.SW_AUTH = `Bearer ${GITHUB_PAT}`; }),
    policy: 'k8s-no-secret-values', message: /^release "skywalking" values: oap\.env\.SW_AUTH holds a (bearer|GitHub) token/m },
  { what: 'chart values that put a password in OAP\'s env (rendered as a literal env value)', type: RELEASE,
    props: skywalkingWith((v) => { v.oap.env.SW_STORAGE_BANYANDB_PASSWORD = 'banyandb'; }),
    policy: 'k8s-no-secret-values', message: /Deployment skywalking\/skywalking-oap: .*SW_STORAGE_BANYANDB_PASSWORD is named like a secret/ },
];

const show = (ds: Diagnostic[]) => JSON.stringify(ds, null, 1);

describe('the policy pack against bad Kubernetes objects and chart values, through its analyzer', function () {
  this.timeout(120000);
  let analyzer: Analyzer;
  let base: Base;
  before(async () => {
    await ensureHelm();
    analyzer = await startAnalyzer();
    const dev = await runProgram({ stack: 'dev' });
    base = {
      frontendExternal: dev.one(SERVICE, '-frontend-external').inputs,
      receiver: dev.one(DEPLOYMENT, '-receiver').inputs,
      cart: dev.one(DEPLOYMENT, '-cartservice').inputs,
      role: dev.ofType('kubernetes:rbac.authorization.k8s.io/v1:Role')[0].inputs,
      skywalking: dev.ofType(RELEASE).find((r) => r.inputs.name === 'skywalking')!.inputs,
    };
  });
  after(() => analyzer?.close());

  it('lets the good objects and releases the bad ones are made from pass every Kubernetes policy', async () => {
    for (const [type, props] of [[SERVICE, base.frontendExternal], [DEPLOYMENT, base.receiver], [DEPLOYMENT, base.cart],
      ['kubernetes:rbac.authorization.k8s.io/v1:Role', base.role], [RELEASE, base.skywalking], [CHART, asChart(base.skywalking)]] as const) {
      const found = (await analyzer.analyze(type, props)).filter((d) => d.policy.startsWith('k8s-'));
      assert.deepEqual(found, [], `${type}: ${show(found)}`);
    }
  });

  for (const c of CASES) {
    it(`stops ${c.what} (${c.policy})`, async () => {
      const found = await analyzer.analyze(c.type, c.props(base));
      const hit = found.find((d) => d.policy === c.policy && c.message.test(d.message));
      assert.ok(hit, `${c.policy} did not report ${c.message}; got ${show(found)}`);
      assert.equal(hit.level, 'mandatory');
    });
  }

  it('judges a release whose values are partly unknown at preview, and leaves the unknown part to the update', async () => {
    const r = skywalkingWith((v) => { delete v.banyandb.standalone.httpSvc; v.oap.env.SW_CLUSTER = UNKNOWN; })(base);
    const found = (await analyzer.analyze(RELEASE, r)).filter((d) => d.policy === 'k8s-services-not-public');
    assert.ok(found.some((d) => d.level === 'mandatory' && /skywalking-banyandb-http: is an external load balancer/.test(d.message)), show(found));
    assert.ok(found.some((d) => d.level === 'advisory' && /values\.oap\.env\.SW_CLUSTER is not known until the update/.test(d.message)), show(found));
  });

  it('leaves a release whose values are wholly unknown at preview to the update, as an advisory note', async () => {
    const r = copy(base.skywalking);
    r.values = UNKNOWN;
    const found = (await analyzer.analyze(RELEASE, r)).filter((d) => d.policy.startsWith('k8s-'));
    assert.ok(found.length > 0 && found.every((d) => d.level === 'advisory' && /values is not known until the update/.test(d.message)), show(found));
  });

  it('takes a Role rendered from a chart (a helm.sh/v4 Chart\'s child, by its URN) for the chart\'s, not ours', () => {
    assert.equal(chartOfUrn('urn:pulumi:dev::meshscope::meshscope:infra:Mesh$kubernetes:helm.sh/v4:Chart$kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::istiod:istiod-clusterrole-istio-system'), 'istiod');
    assert.equal(chartOfUrn('urn:pulumi:dev::meshscope::meshscope:infra:VmWorkloads$kubernetes:rbac.authorization.k8s.io/v1:Role::checkout-token-role'), undefined);
  });

  it('judges a helm.sh/v4 Chart\'s children as the chart\'s objects: its release from their labels, its roles not ours', () => {
    const objects = renderReleaseSync({ ...base.skywalking, values: base.skywalking.values } as never);
    // As the Chart registers them: in the release's namespace unless cluster-scoped.
    const asChild = (o: Props) => {
      const { apiVersion: _a, kind: _k, ...props } = copy(o);
      if (!props.metadata.namespace && !o.kind.startsWith('Cluster')) props.metadata.namespace = base.skywalking.namespace;
      return props;
    };
    const typeOf = (o: Props) => `kubernetes:${o.apiVersion.includes('/') ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;
    const ctx = (undecided: string[]) => collectingContext('dev', undecided, 'observability-skywalking');
    for (const o of objects) {
      for (const rule of RESOURCE_RULES.filter((r) => r.name.startsWith('k8s-'))) {
        assert.deepEqual(rule.validate(typeOf(o), asChild(o), ctx([])), [], `${rule.name} on ${o.kind} ${o.metadata.name}`);
      }
    }
    const oap = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'skywalking-oap')!;
    const unexcepted = copy(asChild(oap));
    unexcepted.metadata.labels = {};
    unexcepted.spec.template.metadata.labels = {};
    const found = RESOURCE_RULES.find((r) => r.name === 'k8s-image-sources')!.validate(typeOf(oap), unexcepted, ctx([]));
    assert.ok(found.some((m) => /^chart "observability-skywalking": Deployment skywalking\/skywalking-oap: .*"wait-for-banyandb": image "curlimages\/curl" has no tag/.test(m)), found.join('\n'));
  });

  it('lifts each chart exception only where the chart still renders that exact container', () => {
    for (const e of CHART_CONTAINER_EXCEPTIONS) {
      const objects = renderReleaseSync({ ...base.skywalking, values: base.skywalking.values } as never);
      const containers = objects.flatMap((o) => {
        const spec = (o.spec as Props | undefined)?.template?.spec;
        return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
      });
      assert.equal(e.release, base.skywalking.name);
      assert.ok(containers.some((c: Props) => c.name === e.container && c.image === e.image), `exception ${e.container} (${e.image}) matches nothing rendered: remove it`);
    }
  });
});
