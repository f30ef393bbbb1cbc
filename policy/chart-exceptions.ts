// Containers a chart hard-codes so that no value can fix them, each lifted from named rules with the reason.
// Kept as narrow as the case: the release, the container's name and its exact image. test/policy checks each
// entry still matches a rendered container, so one that is no longer needed fails the tests and goes.
import { Props } from './rule';

export interface ContainerException {
  release: string;
  container: string;
  image: string;
  rules: readonly string[];
  why: string;
}

export const CHART_CONTAINER_EXCEPTIONS: readonly ContainerException[] = [
  {
    release: 'skywalking',
    container: 'wait-for-banyandb',
    image: 'curlimages/curl',
    rules: ['k8s-resource-requests', 'k8s-image-sources'],
    why: 'skywalking-helm 4.9.0 writes this init container (OAP\'s and oap-init\'s wait for BanyanDB) in templates/_helpers.tpl '
      + 'with a fixed untagged image and no resources, and no value reaches it; it needs a post-render transform of the chart '
      + '(or a fixed chart), not a weaker rule',
  },
];

export function exceptedContainer(rule: string, release: string | undefined, container: Props): ContainerException | undefined {
  return CHART_CONTAINER_EXCEPTIONS.find((e) => e.rules.includes(rule) && e.release === release
    && e.container === container?.name && e.image === container?.image);
}
