import type { SqlDatabase } from "../../store/state-database.ts";
import { drawingCopy, type Figure, figureSize } from "../views/figure.ts";
import { figuresOf } from "./plot-store.ts";

/** Numbers held at most by the cache of drawing copies (about 16 MB). */
const BUDGET = 2_000_000;

/**
 * Drawing copies of stored figures by plot id (plots never change), so that showing a large plot
 * does not parse its whole figure at every view. The oldest entries go first.
 */
const cache = new Map<number, { figure: Figure; size: number }>();
let total = 0;

function remember(id: number, figure: Figure): void {
  const size = figureSize(figure);
  if (size > BUDGET || cache.has(id)) return;
  cache.set(id, { figure, size });
  total += size;
  for (const [oldest, entry] of cache) {
    if (total <= BUDGET) break;
    cache.delete(oldest);
    total -= entry.size;
  }
}

/** The figures of these plots as drawn (long traces strided, large heatmaps averaged), by id. */
export async function drawnFigures(database: SqlDatabase, ids: number[]): Promise<Map<number, Figure>> {
  const out = new Map<number, Figure>();
  const missing: number[] = [];
  for (const id of ids) {
    const cached = cache.get(id);
    if (cached) out.set(id, cached.figure);
    else missing.push(id);
  }
  for (const [id, figure] of await figuresOf(database, missing)) {
    const drawn = drawingCopy(figure);
    remember(id, drawn);
    out.set(id, drawn);
  }
  return out;
}
