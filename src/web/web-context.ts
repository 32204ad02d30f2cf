import type { FastifyReply, FastifyRequest } from "fastify";
import type { VNode } from "preact";
import type { Config } from "../config/load-config.ts";
import type { Logger } from "../logging/logger.ts";
import type { SqlDatabase } from "../store/state-database.ts";
import type { Transport } from "../transport/transport.ts";
import type { ChangeHub } from "./live/change-hub.ts";
import type { LoginMethod } from "./pages/login-page.tsx";
import type { PageFrame } from "./views/layout.tsx";

/** What every page and API module of the web application is given. */
export interface WebContext {
  config: Config;
  database: SqlDatabase;
  transport: Transport;
  log: Logger;
  /** Live updates (server-sent events) for the pages. */
  hub: ChangeHub;
  /** Sign-in methods besides local accounts (LDAP, OIDC), for routes that check credentials. */
  loginMethods: readonly LoginMethod[];
  /** The frame of a page for this request (viewer, banner). */
  frame(request: FastifyRequest): Promise<PageFrame>;
  /**
   * Answers a request that is not allowed: 401 (with the sign-in page, or JSON under /api/) for
   * nobody (anonymous), 403 for someone signed in without the right. `what` says what was
   * refused, for the message ("runs of MARI").
   */
  deny(request: FastifyRequest, reply: FastifyReply, what: string): FastifyReply | Promise<FastifyReply>;
  /** A 404 page (or JSON under /api/) saying what was not found. */
  notFound(request: FastifyRequest, reply: FastifyReply, what: string): FastifyReply | Promise<FastifyReply>;
  /** Renders a full page. */
  page(reply: FastifyReply, page: VNode, status?: number): FastifyReply;
}

/** A module of pages or API routes: registers its routes on the app. */
export type WebModule = (app: import("fastify").FastifyInstance, ctx: WebContext) => void;
