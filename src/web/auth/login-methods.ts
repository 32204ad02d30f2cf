import type { Config } from "../../config/load-config.ts";
import type { Logger } from "../../logging/logger.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import type { LoginMethod } from "../pages/login-page.tsx";
import { ldapLogin } from "./ldap-login.ts";
import { oidcLogin } from "./oidc-login.ts";

/**
 * The sign-in methods the configuration turns on besides local accounts: LDAP (`web.ldap`, checked
 * by the sign-in form) and OpenID Connect (`web.oidc`, a "Sign in with …" button and routes of its
 * own). A bad OIDC client secret file is a ConfigError here, at start.
 */
export async function loginMethods(
  config: Config,
  database: SqlDatabase,
  log: Logger,
): Promise<LoginMethod[]> {
  const methods: LoginMethod[] = [];
  if (config.web.ldap) methods.push(ldapLogin(config.web.ldap, database, log));
  if (config.web.oidc) methods.push(oidcLogin(config, database, log));
  return methods;
}
