import type { FastifyInstance } from "fastify";

/** A route the web app registered: method and URL pattern (`/api/v1/runs/:instrument/:run`). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

/**
 * Every route of the app, read from `printRoutes` (Fastify offers no list; its `onRoute` hook
 * would have to be added before the routes, inside startWebServer). HEAD routes Fastify adds by
 * itself to every GET route are left out. Each route read is checked with `hasRoute`, so a
 * misread tree fails here rather than passing for "no routes".
 *
 * The radix tree is read (the default print), not the `commonPrefix: false` one: that one drops
 * the static part before a wildcard (`/runs/:instrument/:run/files/*` printed as `…/:run` + `*`),
 * and `hasRoute` does not notice (it accepts `/runs/:instrument/:run*` too).
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes().split("\n")) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(match[2] ?? "");
    const url = stack.join("");
    for (const method of (match[3] ?? "").split(", ").filter(Boolean)) {
      if (method === "HEAD") continue;
      if (!app.hasRoute({ method: method as "GET", url }))
        throw new Error(`misread Fastify's route tree: ${method} ${url} is not a route`);
      routes.push({ method, url });
    }
  }
  if (routes.length === 0) throw new Error("read no routes from Fastify's route tree");
  return routes;
}

/** The route (of `routes`) a request goes to: static segments win over parameters, as in Fastify. */
export function routeOf(
  routes: readonly RegisteredRoute[],
  method: string,
  path: string,
): RegisteredRoute | null {
  const bare = path.split("?")[0] ?? path;
  const matching = routes.filter((r) => r.method === method && patternRegex(r.url).test(bare));
  const params = (r: RegisteredRoute) => (r.url.match(/:/g) ?? []).length;
  return matching.sort((a, b) => params(a) - params(b))[0] ?? null;
}

/** A route pattern as a regular expression: `:param` is one path segment, a final `*` the rest. */
function patternRegex(url: string): RegExp {
  const escaped = url
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace(/:[A-Za-z0-9_]+/g, "[^/]+")
    .replace(/\\\*$/, ".*");
  return new RegExp(`^${escaped}$`);
}

/**
 * A route's pattern with each `:param` replaced by its value from `values`, and a final wildcard
 * `*` by `values["*"]` (a path, its slashes kept). Every param needs a value.
 */
export function fillPattern(url: string, values: Readonly<Record<string, string>>): string {
  const example = (name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(
        `no example value for ${name === "*" ? "*" : `:${name}`} (of ${url}): add one to the table`,
      );
    return value;
  };
  return url
    .replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(example(name)))
    .replace(/\*$/, () => example("*").split("/").map(encodeURIComponent).join("/"));
}
