import { BulwarkError } from '../errors';

/** Status codes the engine's Lua scripts return; negative ones are failures (mirrors the Lua headers). */
export enum ScriptCode {
  Duplicate = 0,
  Applied = 1,
  /** A number argument did not parse, or an unknown event kind: a bug in the TypeScript that built it. */
  BadArgument = -1,
}

/** A Lua script refused its input. Not retriable: the same input fails the same way. */
export class EngineScriptError extends BulwarkError {
  constructor(script: string, code: number, context: Record<string, unknown> = {}) {
    super(`engine script ${script} failed: ${ScriptCode[code] ?? `code ${code}`}`, {
      code: 'EENGINESCRIPT',
      retriable: false,
      context: { script, code, ...context },
    });
  }
}
