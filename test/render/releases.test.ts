// Each Helm release the program declares, rendered by a real helm from the pinned chart in the cache: it
// must render at all, and nothing it needs may wait behind a hook Helm runs only after its own wait.
import { strict as assert } from 'node:assert';
import { ISTIO_RELEASES, SKYWALKING_RELEASES } from '../../infra/charts';
import { cachedChartDir } from '../../tools/chart-cache';
import { helmTemplate } from '../../tools/render-stack';
import { find, objectsOf, podTemplates, rendered, STACKS } from './rendered';

for (const stack of STACKS) {
  describe(`rendered releases (${stack})`, () => {
    it('renders every Helm release the stack declares, from a chart version pinned in infra/charts.ts', async () => {
      const r = await rendered(stack);
      assert.deepEqual(r.releases.map((rel) => rel.name).sort(), ['istio-base', 'istio-eastwestgateway', 'istiod', 'skywalking']);
      for (const rel of r.releases) assert.ok(rel.objects.length > 0, `${rel.name} rendered no objects`);
    });

    it('lets no release that Helm waits on depend on its post-install hooks, which Helm runs only after the wait', async () => {
      const r = await rendered(stack);
      for (const rel of r.releases.filter((x) => x.waits)) {
        const late = rel.objects.filter((o) => o.hooks.some((h) => h === 'post-install' || h === 'post-upgrade'));
        assert.deepEqual(late.map((o) => `${o.object.kind} ${o.object.metadata.name}`), [], `${rel.name} waits, yet has post-install hooks`);
      }
    });

    it('installs SkyWalking without a wait, so its oap-init hook creates the schema OAP (no-init) waits for', async () => {
      const r = await rendered(stack);
      const sw = r.releases.find((x) => x.name === 'skywalking')!;
      assert.equal(sw.waits, false);
      const init = sw.objects.find((o) => o.object.kind === 'Job' && o.hooks.includes('post-install'));
      assert.ok(init, 'the chart creates OAP\'s schema in a post-install Job');
      const job = podTemplates(r).find((p) => p.owner === init!.object)!;
      assert.match(JSON.stringify(job.spec.containers[0].env), /-Dmode=init/);
      const oap = find(r, 'Deployment', 'skywalking', 'skywalking-oap')!;
      const oapPod = podTemplates(r).find((p) => p.owner === oap)!;
      assert.match(JSON.stringify(oapPod.spec.containers[0].env), /-Dmode=no-init/);
    });

    it('runs OAP, its UI and BanyanDB (and its slim and FODC variants) at the image versions the chart release pairs', async () => {
      const r = await rendered(stack);
      const pinned = SKYWALKING_RELEASES['4.9.0'];
      const images = podTemplates(r).filter((p) => p.owner.metadata.namespace === 'skywalking')
        .flatMap((p) => p.spec.containers.map((c) => c.image!));
      assert.ok(images.some((i) => i.endsWith(`/skywalking-oap-server:${pinned.oapVersion}`)), images.join(', '));
      assert.ok(images.some((i) => i.endsWith(`/skywalking-ui:${pinned.oapVersion}`)), images.join(', '));
      const banyandb = images.filter((i) => i.includes('banyandb'));
      assert.ok(banyandb.length > 0 && banyandb.every((i) => new RegExp(`:${pinned.banyandbVersion.replace(/\./g, '\\.')}(-[a-z]+)?$`).test(i)), banyandb.join(', '));
    });

    it('renders no storage but BanyanDB: the published chart\'s Elasticsearch and PostgreSQL stay off', async () => {
      const r = await rendered(stack);
      const sw = r.releases.find((x) => x.name === 'skywalking')!;
      assert.deepEqual([(sw.values.elasticsearch as { enabled: boolean }).enabled, (sw.values.postgresql as { enabled: boolean }).enabled], [false, false]);
      const oap = podTemplates(r).find((p) => p.owner.metadata.name === 'skywalking-oap')!;
      const storage = oap.spec.containers[0].env!.find((e) => e.name === 'SW_STORAGE')?.value;
      assert.equal(storage, 'banyandb');
    });
  });
}

describe('rendered storage per stack', () => {
  it('runs BanyanDB standalone beside one OAP on dev', async () => {
    const r = await rendered('dev');
    const sets = objectsOf(r, 'StatefulSet').filter((o) => o.metadata.namespace === 'skywalking').map((o) => o.metadata.name);
    assert.deepEqual(sets, ['skywalking-banyandb']);
  });

  it('runs BanyanDB in cluster mode (liaison and data nodes) beside replicated OAP on prod', async () => {
    const r = await rendered('prod');
    const names = objectsOf(r).filter((o) => o.metadata.namespace === 'skywalking' && o.kind === 'StatefulSet').map((o) => o.metadata.name).sort();
    assert.ok(names.some((n) => n.includes('liaison')) && names.some((n) => n.includes('data')), names.join(', '));
    const oap = find(r, 'Deployment', 'skywalking', 'skywalking-oap')!;
    assert.equal((oap.spec as { replicas: number }).replicas, 3);
  });
});

describe('values the charts never read', () => {
  it('the base chart renders the same with or without the mesh\'s global settings, so the program passes it none', async () => {
    const dir = cachedChartDir(ISTIO_RELEASES['1.30.3'].base);
    const global = { meshID: 'm', network: 'n', multiCluster: { clusterName: 'c' } };
    const [withGlobal, without] = await Promise.all([
      helmTemplate('istio-base', dir, 'istio-system', { global }),
      helmTemplate('istio-base', dir, 'istio-system', {}),
    ]);
    assert.equal(withGlobal, without);
    const r = await rendered('dev');
    assert.deepEqual(r.releases.find((x) => x.name === 'istio-base')!.values, {});
  });
});
