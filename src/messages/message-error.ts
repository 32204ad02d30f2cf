import type { z } from "zod";
import { RefusedError } from "../failures/refused-error.ts";

/** A message body that cannot be accepted. Retrying cannot help: the message goes to the error queue. */
export class InvalidMessageError extends RefusedError {
  override readonly name: string = "InvalidMessageError";
  constructor(
    /** Why, in words an operator can act on. */
    override readonly reason: string,
  ) {
    super(reason);
  }
}

/** Turns zod issues into one readable line: `run_number: expected number; data_file: missing`. */
export function describeIssues(error: z.ZodError, input?: unknown): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join(".") : "(body)";
      const absent = input !== undefined && issue.path.length > 0 && valueAt(input, issue.path) === undefined;
      const what =
        absent || /received undefined/.test(issue.message)
          ? "missing"
          : issue.message.replace(/^Invalid input: /, "");
      return `${where}: ${what}`;
    })
    .join("; ");
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Parses a JSON body and validates it against a schema; throws InvalidMessageError. */
export function parseMessage<T extends z.ZodType>(schema: T, body: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new InvalidMessageError(`body is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InvalidMessageError("body must be a JSON object");
  }
  return validateMessage(schema, json);
}

/** Validates an already-decoded message (e.g. fields read from a bare path); throws InvalidMessageError. */
export function validateMessage<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidMessageError(describeIssues(result.error, input));
  return result.data;
}
