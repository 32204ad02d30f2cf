/** The thing asked failed (exit code 1), as opposed to bad usage or configuration (exit code 2). */
export class CommandFailed extends Error {
  override readonly name = "CommandFailed";
}
