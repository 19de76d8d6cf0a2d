/** The Redis-backed rule engine: apply events, close pending decisions, hand flags over, track event time. */
export { RuleEngine, type RuleEngineOptions } from './rule-engine';
export { ProgressTracker, type ProgressUpdate } from './progress-tracker';
export { computeWatermark, isIdle, type SourceProgress } from './watermark';
export { EngineScriptError, ScriptCode } from './script-codes';
export type { ApplyResult, Flag, SourcedEvent } from './types';
