// The Online Boutique call graph: who calls whom, on which ports, over which protocol. The one copy: the
// replayer plays it, and infra/boutique-catalog.ts adds to each row how the stack deploys it. It lives here
// because the receiver's build and image reach only receiver/src, while infra can import from anywhere.

export type GraphProtocol = 'grpc' | 'http' | 'tcp';

export interface GraphService {
  name: string;
  /** Port the workload listens on. */
  containerPort: number;
  /** Port of its Service, which callers dial; absent: nobody calls it (loadgenerator). */
  servicePort?: number;
  protocol: GraphProtocol;
  /** Services it calls. */
  calls: readonly string[];
}

export const BOUTIQUE_GRAPH: readonly GraphService[] = [
  { name: 'frontend', containerPort: 8080, servicePort: 80, protocol: 'http',
    calls: ['productcatalogservice', 'currencyservice', 'cartservice', 'recommendationservice', 'shippingservice', 'checkoutservice', 'adservice'] },
  { name: 'checkoutservice', containerPort: 5050, servicePort: 5050, protocol: 'grpc',
    calls: ['productcatalogservice', 'shippingservice', 'paymentservice', 'emailservice', 'currencyservice', 'cartservice'] },
  { name: 'paymentservice', containerPort: 50051, servicePort: 50051, protocol: 'grpc', calls: [] },
  { name: 'productcatalogservice', containerPort: 3550, servicePort: 3550, protocol: 'grpc', calls: [] },
  { name: 'shippingservice', containerPort: 50051, servicePort: 50051, protocol: 'grpc', calls: [] },
  { name: 'emailservice', containerPort: 8080, servicePort: 5000, protocol: 'grpc', calls: [] },
  { name: 'currencyservice', containerPort: 7000, servicePort: 7000, protocol: 'grpc', calls: [] },
  { name: 'cartservice', containerPort: 7070, servicePort: 7070, protocol: 'grpc', calls: ['redis-cart'] },
  { name: 'recommendationservice', containerPort: 8080, servicePort: 8080, protocol: 'grpc', calls: ['productcatalogservice'] },
  { name: 'adservice', containerPort: 9555, servicePort: 9555, protocol: 'grpc', calls: [] },
  { name: 'redis-cart', containerPort: 6379, servicePort: 6379, protocol: 'tcp', calls: [] },
  { name: 'loadgenerator', containerPort: 8089, protocol: 'http', calls: ['frontend'] },
];

/** `caller->callee`, the key of an edge everywhere in the replayer. */
export function edgeKey(caller: string, callee: string): string {
  return `${caller}->${callee}`;
}

export function graphEdges(graph: readonly GraphService[]): { caller: string; callee: string }[] {
  return graph.flatMap((s) => s.calls.map((callee) => ({ caller: s.name, callee })));
}
