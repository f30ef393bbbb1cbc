import { strict as assert } from 'node:assert';
import { BOUTIQUE_GRAPH, BOUTIQUE_SERVICES, boutiqueEnv, boutiqueImage, boutiqueService } from '../../catalog/src/online-boutique';

describe('Online Boutique catalog', () => {
  it('gives checkoutservice its PORT and the address of each of its six callees, by usual name in a pod', () => {
    assert.deepEqual(boutiqueEnv(boutiqueService('checkoutservice')), {
      PORT: '5050',
      PRODUCT_CATALOG_SERVICE_ADDR: 'productcatalogservice:3550',
      SHIPPING_SERVICE_ADDR: 'shippingservice:50051',
      PAYMENT_SERVICE_ADDR: 'paymentservice:50051',
      EMAIL_SERVICE_ADDR: 'emailservice:5000',
      CURRENCY_SERVICE_ADDR: 'currencyservice:7000',
      CART_SERVICE_ADDR: 'cartservice:7070',
    });
  });

  it('names callees by cluster FQDN for a service on a VM, where no pod search path exists', () => {
    const env = boutiqueEnv(boutiqueService('checkoutservice'), 'shop');
    assert.equal(env.CART_SERVICE_ADDR, 'cartservice.shop.svc.cluster.local:7070');
    assert.equal(env.EMAIL_SERVICE_ADDR, 'emailservice.shop.svc.cluster.local:5000');
  });

  it('gives paymentservice PORT 50051 and DISABLE_PROFILER=1', () => {
    assert.deepEqual(boutiqueEnv(boutiqueService('paymentservice'), 'shop'), { PORT: '50051', DISABLE_PROFILER: '1' });
  });

  it('points the loadgenerator at the frontend Service and cartservice at redis', () => {
    assert.equal(boutiqueEnv(boutiqueService('loadgenerator')).FRONTEND_ADDR, 'frontend:80');
    assert.equal(boutiqueEnv(boutiqueService('cartservice')).REDIS_ADDR, 'redis-cart:6379');
  });

  it('deploys exactly the services of the call graph the demo replays, in its order', () => {
    assert.deepEqual(BOUTIQUE_SERVICES.map((s) => s.name), BOUTIQUE_GRAPH.map((g) => g.name));
    assert.deepEqual(BOUTIQUE_SERVICES.map((s) => s.calls), BOUTIQUE_GRAPH.map((g) => g.calls));
  });

  it('calls only services that exist and have a Service port', () => {
    for (const svc of BOUTIQUE_SERVICES) {
      for (const callee of svc.calls) assert.ok(boutiqueService(callee).servicePort, `${svc.name} -> ${callee}`);
    }
  });

  it('rejects an unknown service, listing the known ones', () => {
    assert.throws(() => boutiqueService('billing'), /unknown Online Boutique service "billing"; known: frontend, checkoutservice/);
  });

  it('pins images to the release tag, except redis', () => {
    assert.equal(boutiqueImage(boutiqueService('adservice'), 'v0.10.6'), 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice:v0.10.6');
    assert.equal(boutiqueImage(boutiqueService('redis-cart'), 'v0.10.6'), 'redis:alpine');
  });
});
