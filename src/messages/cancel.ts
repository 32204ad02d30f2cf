import { z } from "zod";

/** A cancellation on the cancel topic: the job to stop, and who asked. */
export const CancelSchema = z.looseObject({
  job_id: z.string().min(1),
  cancelled_by: z.string().default("someone"),
});
