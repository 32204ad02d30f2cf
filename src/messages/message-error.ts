import type { z } from "zod";

/** A message body that cannot be accepted. Retrying cannot help: the message goes to the error queue. */
export class InvalidMessageError extends Error {
  override readonly name = "InvalidMessageError";
  constructor(
    /** Why, in words an operator can act on. */
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Turns zod issues into one readable line: `run_number: expected number; data_file: missing`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join(".") : "(body)";
      const what =
        issue.code === "invalid_type" && /received undefined/.test(issue.message) ? "missing" : issue.message;
      return `${where}: ${what}`;
    })
    .join("; ");
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
  const result = schema.safeParse(json);
  if (!result.success) throw new InvalidMessageError(describeIssues(result.error));
  return result.data;
}
