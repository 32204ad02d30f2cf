import { registerPlots } from "../plots/plot-routes.tsx";
import type { WebModule } from "../web-context.ts";
import { registerAccount } from "./account-page.tsx";
import { registerAdmin } from "./admin-pages.tsx";
import { registerRunPage } from "./run-page.tsx";

/**
 * The page and API modules of the web application, each registering its own routes. Add a
 * module here (one line) when it has its file.
 */
export const WEB_MODULES: WebModule[] = [registerRunPage, registerPlots, registerAdmin, registerAccount];
