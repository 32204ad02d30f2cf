import type { WebModule } from "../web-context.ts";
import { registerCatalogApi } from "./catalog-api.ts";
import { registerExperimentPage } from "./experiment-page.tsx";
import { registerInstrumentPage } from "./instrument-page.tsx";
import { registerInstrumentsList } from "./instruments-list.tsx";

/**
 * The page and API modules of the web application, each registering its own routes. Add a
 * module here (one line) when it has its file.
 */
export const WEB_MODULES: WebModule[] = [
  registerInstrumentsList,
  registerInstrumentPage,
  registerExperimentPage,
  registerCatalogApi,
];
