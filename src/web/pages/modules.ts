import { registerPlots } from "../plots/plot-routes.tsx";
import type { WebModule } from "../web-context.ts";
import { registerAccount } from "./account-page.tsx";
import { registerAdmin } from "./admin-pages.tsx";
import { registerCatalogApi } from "./catalog-api.ts";
import { registerExperimentPage } from "./experiment-page.tsx";
import { registerInstrumentPage } from "./instrument-page.tsx";
import { registerInstrumentsList } from "./instruments-list.tsx";
import { registerRunPage } from "./run-page.tsx";
import { registerRunsIndex } from "./runs-index.tsx";

/**
 * The page and API modules of the web application, each registering its own routes. Add a
 * module here (one line) when it has its file.
 */
export const WEB_MODULES: WebModule[] = [
  registerRunsIndex,
  registerRunPage,
  registerPlots,
  registerInstrumentsList,
  registerInstrumentPage,
  registerExperimentPage,
  registerCatalogApi,
  registerAdmin,
  registerAccount,
];
