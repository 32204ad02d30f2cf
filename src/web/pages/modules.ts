import type { WebModule } from "../web-context.ts";
import { registerRunsIndex } from "./runs-index.tsx";

/**
 * The page and API modules of the web application, each registering its own routes. Add a
 * module here (one line) when it has its file.
 */
export const WEB_MODULES: WebModule[] = [registerRunsIndex];
