/** Status codes the engine's Lua scripts return; negative ones are failures (mirrors the Lua headers). */
export enum ScriptCode {
  /** A number argument did not parse: a bug in the TypeScript that built it. */
  BadArgument = -1,
}
