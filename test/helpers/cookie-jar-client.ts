/**
 * A browser without a window, for sign-in flows that cross sites (our app → an identity provider →
 * back): cookies kept per origin and sent back to it, redirects followed one by one so that each
 * hop can be looked at. Cookie paths are honoured (a cookie is sent under its `Path` only).
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();

  /** One request with this browser's cookies; redirects are not followed. */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = this.cookieHeader(target);
    const response = await fetch(target, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    this.store(target, response);
    return response;
  }

  /** A form post (urlencoded). */
  post(url: string | URL, form: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }

  /**
   * Follows redirects from `response` (the one `from` answered) until a page that is not a
   * redirect, or until `stop` says the next location is where the caller wants to look. Returns the
   * last response and its URL.
   */
  async follow(
    from: string | URL,
    response: Response,
    stop: (location: URL) => boolean = () => false,
  ): Promise<{ url: URL; response: Response }> {
    let url = new URL(from);
    let current = response;
    for (let hops = 0; current.status >= 300 && current.status < 400; hops++) {
      if (hops > 20) throw new Error(`more than 20 redirects from ${from}`);
      const location = new URL(current.headers.get("location") ?? "", url);
      if (stop(location)) return { url: location, response: current };
      void current.body?.cancel();
      url = location;
      current = await this.request(url);
    }
    return { url, response: current };
  }

  /** The value of a cookie this browser holds for `origin` (any path). */
  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(new URL(origin).origin)?.get(name)?.value;
  }

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.origin) ?? new Map();
    return [...cookies]
      .filter(
        ([, c]) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`),
      )
      .map(([name, c]) => `${name}=${c.value}`)
      .join("; ");
  }

  private store(url: URL, response: Response): void {
    const cookies = this.jar.get(url.origin) ?? new Map<string, { value: string; path: string }>();
    this.jar.set(url.origin, cookies);
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((s) => s.trim());
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      const attribute = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const expires = attribute("expires");
      const gone =
        value === "" ||
        attribute("max-age") === "0" ||
        (expires !== undefined && Date.parse(expires) < Date.now());
      if (gone) cookies.delete(name);
      else cookies.set(name, { value, path: attribute("path") ?? "/" });
    }
  }
}
