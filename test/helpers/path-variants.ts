/** Path variants for access tests: the spellings a router and a check might read differently. */

/** Variants of a canonical path that a router or a check might read differently. */
export function pathVariants(canonical: string): string[] {
  const [pathPart, query] = canonical.split('?') as [string, string | undefined];
  const q = query === undefined ? '' : `?${query}`;
  const segments = pathPart.split('/').slice(1);
  const encodeFirst = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
  const variants = new Set<string>([
    pathPart.toUpperCase() + q,
    `/V1/${segments.slice(1).join('/')}${q}`,
    `/${segments.map((s, i) => (i === 1 ? s.charAt(0).toUpperCase() + s.slice(1) : s)).join('/')}${q}`,
    `/${segments.map((s) => encodeFirst(s)).join('/')}${q}`,
    `/${segments.map((s) => s.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')}${q}`,
    `/${segments.map((s, i) => (i === segments.length - 1 ? s.toUpperCase() : s)).join('/')}${q}`,
    `${pathPart}/${q}`,
    `/${pathPart}${q}`,
    `${pathPart.replace('/v1/', '/v1//')}${q}`,
    `${pathPart.replace('/v1/', '/v1/./')}${q}`,
    `${pathPart.replace('/v1/', '/x/../v1/')}${q}`,
    `${pathPart.replace('/v1/', '/v1/%2e/')}${q}`,
    `${pathPart.replace(/\//g, '%2F').replace(/^%2F/, '/')}${q}`,
  ]);
  variants.delete(canonical);
  return [...variants];
}
