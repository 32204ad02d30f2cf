/** Parses `name=value` arguments (the value may contain `=`; the name may contain spaces). */
export function parseAssignments(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) throw new Error(`expected name=value, got '${item}'`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** Commander collector for repeatable options (`--var a=1 --var b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
