import { z } from "zod";

/**
 * On `queues.service_status` (one topic per instrument): how a request to the worker's service
 * went (a CREATE_SCRIPT, so far), in the body SNS WebMon reads from the post-processing agent.
 */
export const ServiceStatusSchema = z.looseObject({
  /** The service that answers: `postprocessing` (the worker, as the SNS agent calls itself). */
  src_id: z.string().min(1),
  /** What happened, in words shown to the person who asked (e.g. "Error creating … script: …"). */
  status: z.string().min(1),
});
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;
