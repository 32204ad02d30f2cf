import type { FastifyReply, FastifyRequest } from "fastify";
import { MessagePage } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";

/** A 400 page saying what is wrong with the address or form, so the person can correct it. */
export async function badRequest(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  text: string,
): Promise<FastifyReply> {
  const frame = await ctx.frame(request);
  return ctx.page(
    reply,
    <MessagePage frame={frame} title="Bad request">
      <p>{text}</p>
    </MessagePage>,
    400,
  );
}
