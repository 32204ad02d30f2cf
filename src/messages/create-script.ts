import { z } from "zod";

/** SNS WebMon sends string values URL-encoded (`quote_plus`); the agent decodes them, and so do we. */
function unquotePlus(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return value; // not URL-encoded after all: keep it as sent
  }
}

/**
 * `REDUCTION.CREATE_SCRIPT`: write an instrument's reduction script from its template (SNS).
 * All three of instrument, use_default and template_data are required, as at SNS.
 */
export const CreateScriptSchema = z.looseObject({
  instrument: z.string().regex(/^[A-Za-z0-9_]+$/),
  use_default: z.boolean(),
  template_data: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .transform((data) =>
      Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? unquotePlus(v) : v]),
      ),
    ),
  /** "Requested by <user>". */
  information: z.string().optional(),
});
export type CreateScriptMessage = z.infer<typeof CreateScriptSchema>;

/** Encodes a value as SNS WebMon does, so that the receiving side's decoding gives it back. */
export function quotePlus(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}
