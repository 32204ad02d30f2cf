import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import type { LoginMethod } from "../pages/login-page.tsx";

/**
 * The sign-in methods the configuration turns on besides local accounts: LDAP (`web.ldap`) and
 * OpenID Connect (`web.oidc`).
 */
export async function loginMethods(
  config: Config,
  _database: SqlDatabase,
  _log: Logger,
): Promise<LoginMethod[]> {
  const methods: LoginMethod[] = [];
  if (config.web.ldap) throw new Error("web.ldap: LDAP sign-in is not built yet");
  if (config.web.oidc) throw new Error("web.oidc: OpenID Connect sign-in is not built yet");
  return methods;
}
