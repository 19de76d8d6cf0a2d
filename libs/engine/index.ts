/** The rule engine: apply events, close pending decisions, hand flags over, track event time. */
export type { PendingRef } from './index-members';
export { ProgressTracker, type ProgressUpdate } from './progress-tracker';
export { FlagWatermark } from './flag-watermark';
export { computeWatermark, isIdle, type SourceProgress } from './watermark';
export { partitionOfSource, sourcesAhead } from './alignment';
export type { ApplyOptions, ApplyResult, Flag, InlineClose, SourcedEvent } from './types';
export { StateEpoch, type EpochCheck, type EpochRecord, type EpochStatus } from './state-epoch';
export { StreamEngine, type StreamEngineOptions } from './stream-engine';
export { liveEngine, type LiveEngineOptions } from './live-engine';
export { MemoryWindowStore } from './store/memory-store';
export type { PendingDecision, StoreCommit, UserState, WindowStore } from './store/window-store';
export { EngineTestDriver } from './test-driver';
export { RedisWindowStore, type RedisWindowStoreOptions } from './store/redis-store';
