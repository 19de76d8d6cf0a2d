/** Rules as data and the pure decisions around them; no Redis here (libs/engine holds the state). */
export * from './config';
export * from './address';
export * from './sanctions';
export * from './second-factor';
export * from './facts';
export * from './rule-kind';
export { RULE_REGISTRY } from './registry';
export { compileRules, stateReachMs, type CompiledRules } from './compile';
