import { strict as assert } from 'node:assert';
import type { MetadataTree } from '../../../receiver/src/analysis/metadata-struct';
import { flatNodeToMetadata } from '../../../receiver/src/analysis/peer-metadata';
import {
  DEFAULT_INSTANCE_NAME_RULE, DEFAULT_SERVICE_NAME_RULE, compileNamingRule,
} from '../../../receiver/src/analysis/service-naming';
import { flatNodeOf, nodeMetadataOf, peerStructOf, pod, vm } from '../../fixtures/mesh-fixtures';

const service = compileNamingRule(DEFAULT_SERVICE_NAME_RULE);
const instance = compileNamingRule(DEFAULT_INSTANCE_NAME_RULE);

describe('service naming rules', () => {
  describe('SkyWalking defaults', () => {
    const cart = pod('cartservice', 'boutique', { name: 'cartservice-6d7f5c9b8-2kq9x' });

    it('names a pod from node metadata as canonical-name.namespace', () => {
      assert.equal(service.apply(nodeMetadataOf(cart)), 'cartservice.boutique');
    });

    it('names the instance by the pod name', () => {
      assert.equal(instance.apply(nodeMetadataOf(cart)), 'cartservice-6d7f5c9b8-2kq9x');
    });

    it('names a FlatNode peer the same as its node metadata', () => {
      assert.equal(service.apply(flatNodeToMetadata(flatNodeOf(cart))), 'cartservice.boutique');
      assert.equal(instance.apply(flatNodeToMetadata(flatNodeOf(cart, 'workload'))), 'cartservice-6d7f5c9b8-2kq9x');
    });

    it('names an Istio 1.24+ Struct peer (lowercase flat keys) through SERVICE and case-insensitive NAMESPACE and NAME', () => {
      const peer = peerStructOf(cart);
      assert.equal(peer.service, 'cartservice');
      assert.equal(service.apply(peer), 'cartservice.boutique');
      assert.equal(instance.apply(peer), 'cartservice-6d7f5c9b8-2kq9x');
    });

    it('names a node-shaped Struct peer like node metadata', () => {
      assert.equal(service.apply(peerStructOf(vm('paymentservice', 'boutique'), 'node-shaped')), 'paymentservice.boutique');
    });

    it('takes the first non-empty candidate in rule order', () => {
      const labels = { app: 'a', 'app.kubernetes.io/name': 'b', 'k8s-app': 'c' };
      assert.equal(service.apply({ LABELS: labels, NAMESPACE: 'ns' }), 'b.ns');
      assert.equal(service.apply({ LABELS: { ...labels, 'service.istio.io/canonical-name': '' }, NAMESPACE: 'ns' }), 'b.ns');
      assert.equal(service.apply({ LABELS: { app: 'a', 'k8s-app': 'c' }, NAMESPACE: 'ns' }), 'a.ns');
      assert.equal(service.apply({ LABELS: { 'k8s-app': 'c' }, SERVICE: 's', NAMESPACE: 'ns' }), 'c.ns');
      assert.equal(service.apply({ SERVICE: 's', NAMESPACE: 'ns' }), 's.ns');
    });

    it('skips a candidate whose value is "-", as FieldsHelper does', () => {
      assert.equal(service.apply({ LABELS: { 'service.istio.io/canonical-name': '-', app: 'web' }, NAMESPACE: 'ns' }), 'web.ns');
    });

    it('writes "-" for a field with no value, as FieldsHelper.inflate does', () => {
      assert.equal(service.apply({ LABELS: { app: 'web' } }), 'web.-');
      assert.equal(instance.apply({}), '-');
      assert.equal(service.apply({}), '-.-');
    });

    it('treats values that are not strings as missing', () => {
      assert.equal(service.apply({ LABELS: 'not a struct', NAMESPACE: { nested: 'x' } }), '-.-');
    });
  });

  describe('custom rules', () => {
    it('keeps literal text as written', () => {
      assert.equal(compileNamingRule('mesh::${NAMESPACE}/${NAME}!').apply({ NAMESPACE: 'ns', NAME: 'p' }), 'mesh::ns/p!');
    });

    it('reads quoted keys that hold dots and slashes', () => {
      const rule = compileNamingRule('${LABELS."service.istio.io/canonical-revision"}');
      assert.equal(rule.apply({ LABELS: { 'service.istio.io/canonical-revision': 'v2' } }), 'v2');
    });

    it('walks nested keys such as PLATFORM_METADATA.gcp_project', () => {
      assert.equal(compileNamingRule('${PLATFORM_METADATA.gcp_project}').apply({ PLATFORM_METADATA: { gcp_project: 'p1' } }), 'p1');
    });

    it('matches keys case-insensitively, preferring an exact match', () => {
      const rule = compileNamingRule('${Labels.APP}');
      assert.equal(rule.apply({ labels: { app: 'x' } }), 'x');
      assert.equal(compileNamingRule('${name}').apply({ NAME: 'upper', name: 'lower' }), 'lower');
    });

    it('supports SkyWalking test mapping with revision first', () => {
      const rule = compileNamingRule(
        '${LABELS."service.istio.io/canonical-revision",REVISION}.${LABELS."service.istio.io/canonical-name",LABELS.app,SERVICE}.${NAMESPACE}',
      );
      assert.equal(rule.apply(peerStructOf(pod('ad', 'shop', { version: 'v3' }))), 'v3.ad.shop');
    });

    it('accepts a rule without any field', () => {
      assert.equal(compileNamingRule('everything').apply({ NAME: 'x' }), 'everything');
    });
  });

  describe('rules as FieldsHelper.init parses them', () => {
    const cases: [string, string, MetadataTree, string][] = [
      ['drops an empty candidate (Splitter omitEmptyStrings)', '${LABELS.app,}', { LABELS: { app: 'web' } }, 'web'],
      ['drops empty candidates between commas', '${A,,B}', { B: 'b' }, 'b'],
      ['drops empty keys between dots', '${LABELS..app}', { LABELS: { app: 'web' } }, 'web'],
      ['keeps the space of a candidate, so " NAMESPACE" is not NAMESPACE', '${NAME, NAMESPACE}', { NAME: '', NAMESPACE: 'ns' }, '-'],
      ['takes the first candidate of a spaced list when it has a value', '${NAME, NAMESPACE}', { NAME: 'p', NAMESPACE: 'ns' }, 'p'],
      ['finds a key spelled with its space', '${NAME, NAMESPACE}', { ' NAMESPACE': 'spaced' }, 'spaced'],
      ['ends a field at its first "}"', '${NA{ME}', { 'NA{ME': 'x' }, 'x'],
      ['reads "$" inside a key as part of it', '${A$B}', { A$B: 'x' }, 'x'],
      ['joins a quoted run split at dots and removes its quotes', '${LABELS."a.b".c}', { LABELS: { 'a.b': { c: 'x' } } }, 'x'],
      ['reads an empty quoted key as the key ""', '${LABELS.""}', { LABELS: { '': 'x' } }, 'x'],
      ['reads an expression with no candidate as "-"', '${,}.${NAMESPACE}', { NAMESPACE: 'ns' }, '-.ns'],
    ];
    for (const [what, rule, metadata, name] of cases) {
      it(`${what}: ${rule} gives ${JSON.stringify(name)}`, () => {
        assert.equal(compileNamingRule(rule).apply(metadata), name);
      });
    }

    it('warns at startup about a key that keeps its whitespace', () => {
      assert.match(compileNamingRule('${NAME, NAMESPACE}', 'service name rule').warnings.join('\n'), /" NAMESPACE" keeps its whitespace/);
      assert.deepEqual(compileNamingRule(DEFAULT_SERVICE_NAME_RULE).warnings, []);
    });

    it('keeps the text after the last field, which FieldsHelper drops (a documented difference)', () => {
      assert.equal(compileNamingRule('${NAME}.mesh').apply({ NAME: 'p' }), 'p.mesh');
    });
  });

  describe('rules that cannot mean what was written', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty at column 1/],
      ['${NAME', /"\$\{" is never closed at column 1/],
      ['a.${NAMESPACE', /"\$\{" is never closed at column 3/],
      ['${}', /"\$\{" is never closed at column 1/],
      ['${LABELS."app}', /quoted key "app is never closed at column 10/],
      ['${LABELS."a"b}', /quoted key "a"b is never closed at column 10/],
    ];
    for (const [rule, message] of cases) {
      it(`rejects ${JSON.stringify(rule)} naming the problem and its column`, () => {
        assert.throws(() => compileNamingRule(rule, 'service name rule'), (e: Error) => {
          assert.match(e.message, message);
          assert.ok(e.message.startsWith(`invalid service name rule ${JSON.stringify(rule)}: `), e.message);
          return true;
        });
      });
    }
  });
});
