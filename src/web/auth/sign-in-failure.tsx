import type { FastifyReply, FastifyRequest } from "fastify";
import { MessagePage } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";

/**
 * A sign-in through a provider that went wrong, said plainly with what to do next: try the
 * provider again, or sign in with the form (facility or local account).
 */
export async function failurePage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  message: string,
  retry: string,
): Promise<FastifyReply> {
  const frame = await ctx.frame(request);
  return ctx.page(
    reply,
    <MessagePage frame={frame} title="Sign-in failed">
      <p class="error" role="alert">
        {message}
      </p>
      <p>
        <a href={retry}>Try again</a> or <a href="/login">use your facility account</a>.
      </p>
    </MessagePage>,
    status,
  );
}
