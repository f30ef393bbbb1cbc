// What runs in the cluster comes from registries we chose, at a version fixed in the code: an image without a
// tag or with `latest` changes under the same manifest, and one from anywhere else is not reviewed at all.
import { isUnknown } from './rule';
import { exceptedContainer } from './chart-exceptions';
import { containersOf, kubernetesRule, podSpecOf } from './k8s-objects';

const NAME = 'k8s-image-sources';

/** Where images may come from (normalised `registry/path/`), each with why. */
export const ALLOWED_REGISTRIES: readonly { prefix: RegExp; what: string }[] = [
  { prefix: /^docker\.io\/istio\//, what: 'Istio\'s own images (docker.io/istio)' },
  { prefix: /^docker\.io\/apache\//, what: 'Apache\'s images on Docker Hub (BanyanDB)' },
  { prefix: /^skywalking\.docker\.scarf\.sh\/apache\//, what: 'Apache SkyWalking\'s image gateway to its Docker Hub images (the chart\'s default for OAP and UI)' },
  { prefix: /^us-central1-docker\.pkg\.dev\/online-boutique-ci\/microservices-demo\//, what: 'Online Boutique\'s release images' },
  { prefix: /^docker\.io\/library\/redis$/, what: 'Docker\'s official redis (Online Boutique\'s cart store)' },
  { prefix: /^[a-z0-9-]+-docker\.pkg\.dev\/[a-z0-9-]+\/meshscope-[a-z0-9-]+-images\//, what: 'our stacks\' Artifact Registry (the receiver)' },
];

/** Istio's sidecar injector replaces `image: auto` (gateway chart) with istiod's proxy image at admission. */
const INJECTED_IMAGE = 'auto';
const INJECTION_TEMPLATES = 'inject.istio.io/templates';

export interface ImageRef { repository: string; tag?: string; digest?: string }

/** A reference as the container runtime reads it: Docker Hub and `library/` filled in when not given. */
export function parseImage(ref: string): ImageRef {
  const [nameTag, digest] = ref.split('@');
  const slash = nameTag.lastIndexOf('/');
  const colon = nameTag.lastIndexOf(':');
  const name = colon > slash ? nameTag.slice(0, colon) : nameTag;
  const tag = colon > slash ? nameTag.slice(colon + 1) : undefined;
  const parts = name.split('/');
  const hasRegistry = parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost');
  const repository = hasRegistry ? name : `docker.io/${parts.length === 1 ? `library/${name}` : name}`;
  return { repository, tag, digest };
}

export function imageProblems(image: string): string[] {
  const ref = parseImage(image);
  const problems: string[] = [];
  if (!ALLOWED_REGISTRIES.some((r) => r.prefix.test(ref.repository) || r.prefix.test(`${ref.repository}/`))) {
    problems.push(`image ${JSON.stringify(image)} comes from ${ref.repository}; allowed: ${ALLOWED_REGISTRIES.map((r) => r.what).join('; ')}`);
  }
  if (ref.digest) {
    if (!/^sha256:[0-9a-f]{64}$/.test(ref.digest)) problems.push(`image ${JSON.stringify(image)} has a malformed digest; allowed: @sha256:<64 hex>`);
  } else if (!ref.tag) {
    problems.push(`image ${JSON.stringify(image)} has no tag (the runtime pulls latest); allowed: a version tag or a digest`);
  } else if (ref.tag === 'latest') {
    problems.push(`image ${JSON.stringify(image)} is tagged latest; allowed: a version tag or a digest`);
  }
  return problems;
}

export const imageSources: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: NAME,
  description: 'Every container image comes from an allowed registry and is pinned by a tag other than latest, or by digest.',
  judge(o, ctx, from) {
    const pod = podSpecOf(o);
    if (!pod) return [];
    return containersOf(pod).flatMap(({ path, container }) => {
      const image = container?.image;
      if (isUnknown(image)) return (ctx.undecided(image), []);
      if (exceptedContainer(NAME, from.release, container)) return [];
      if (image === INJECTED_IMAGE && pod.metadata?.annotations?.[INJECTION_TEMPLATES]) return [];
      if (typeof image !== 'string' || image === '') return [`${path} names no image; allowed: an image from an allowed registry`];
      return imageProblems(image).map((p) => `${path}: ${p}`);
    });
  },
});
