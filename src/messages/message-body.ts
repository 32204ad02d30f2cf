import type { z } from "zod";
import { describeIssues } from "./message-error.ts";

/**
 * A message this process was about to send does not pass the schema its consumers parse it
 * with: a bug in the sender, caught before it reaches the bus (where it would be refused).
 */
export class MessageBuildError extends Error {
  override readonly name = "MessageBuildError";
}

/**
 * The body of an outgoing message, typed by the schema its consumers validate it with: the
 * fields are checked against that schema here, so a sender cannot put a message on the bus that
 * the other side would refuse. The fields are sent as given (key order and extra fields kept;
 * the schema's transforms apply on the consumer's side only).
 */
export function messageBody<S extends z.ZodType>(schema: S, fields: z.input<S>): string {
  const checked = schema.safeParse(fields);
  if (!checked.success)
    throw new MessageBuildError(`refusing to send: ${describeIssues(checked.error, fields)}`);
  return JSON.stringify(fields);
}
