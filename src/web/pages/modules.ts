import { registerPlots } from "../plots/plot-routes.tsx";
import type { WebModule } from "../web-context.ts";

/**
 * The page and API modules of the web application, each registering its own routes. Add a
 * module here (one line) when it has its file.
 */
export const WEB_MODULES: WebModule[] = [registerPlots];
